// A sweep's state shown: its table, its summary and the nested estimate of its choice.
#include <cmath>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "base/text_table.h"
#include "experiments/sweep/sweep_spec.h"
#include "experiments/sweep/sweep_state.h"

namespace malaria::experiments {

base::TextTable SweepTable(const SweepConfig& sweep, const SweepState& state) {
  const bool halving = sweep.method_case() == SweepConfig::kSuccessiveHalving;
  base::TextTable t;
  t.title = absl::StrCat("Sweep ", sweep.name());
  t.header = {"trial"};
  if (halving) t.header.push_back("rung");
  for (const SweepAxis& a : sweep.axis()) t.header.push_back(a.field());
  if (halving) t.header.push_back("epochs");
  for (const char* h : {"folds", "", "TFLOP", "minutes", "status"}) t.header.push_back(h);
  t.header[t.header.size() - 4] = sweep.objective().metric() + " (mean +- sd)";
  for (const TrialState& trial : state.trials) {
    std::vector<std::string> row = {
        absl::StrCat(trial.trial, trial.trial == state.best ? " *" : "")};
    if (halving) row.push_back(absl::StrCat(trial.rung));
    for (int i = 0; i < sweep.axis_size(); ++i) {
      const std::string& a = trial.assignment[i];
      row.push_back(a.substr(a.find('=') + 1));
    }
    if (halving) row.push_back(absl::StrCat(trial.epochs));
    int completed = 0;
    double tflop = 0, seconds = 0;
    for (const TrialFold& f : trial.folds) {
      completed += f.status == TrialFold::kCompleted;
      tflop += f.tflop;
      seconds += f.seconds;
    }
    row.push_back(absl::StrCat(completed, "/", trial.folds.size()));
    row.push_back(std::isfinite(trial.objective)
                      ? absl::StrFormat("%.4f +- %.4f", trial.objective,
                                        std::isfinite(trial.objective_sd) ? trial.objective_sd : 0)
                      : "-");
    row.push_back(trial.Started() ? absl::StrFormat("%.2f", tflop) : "-");
    row.push_back(trial.Started() ? absl::StrFormat("%.1f", seconds / 60) : "-");
    row.push_back(TrialStatus(trial, state.budget_spent));
    t.rows.push_back(std::move(row));
  }
  return t;
}

std::string SweepSummary(const SweepConfig& sweep, const SweepState& state) {
  int done = 0;
  for (const TrialState& t : state.trials) done += t.Done();
  std::string out = absl::StrFormat(
      "sweep %s: %d of %d planned trial(s) done%s, %.2f TFLOP and %.2f hours of training",
      sweep.name(), done, state.trials.size(),
      state.rungs > 1 ? absl::StrFormat(" (rung %d of %d)", state.current_rung + 1, state.rungs)
                      : "",
      state.tflop, state.hours);
  const SweepBudget& b = sweep.budget();
  if (b.max_tflop() > 0) absl::StrAppendFormat(&out, " (budget %g TFLOP)", b.max_tflop());
  if (b.max_hours() > 0) absl::StrAppendFormat(&out, " (budget %g hours)", b.max_hours());
  if (state.budget_spent) absl::StrAppend(&out, "; the budget is spent: no new trial starts");
  absl::StrAppend(&out, state.finished ? "; finished" : "", "\n");
  if (state.best >= 0) {
    const TrialState& t = state.trials[state.best];
    absl::StrAppendFormat(&out, "best: trial %d, %s %.4f +- %.4f over %d fold(s): %s\n", t.trial,
                          sweep.objective().metric(), t.objective,
                          std::isfinite(t.objective_sd) ? t.objective_sd : 0, t.folds.size(),
                          absl::StrJoin(t.assignment, " "));
    int scored = 0;
    for (const TrialState& other : state.trials) scored += std::isfinite(other.objective);
    if (scored > 1) {
      // Selection bias: the best of several on the same folds is the luckiest as well as the best.
      absl::StrAppendFormat(
          &out,
          "  (chosen as the best of %d scored trials on these same folds: optimistic for new "
          "patients; confirm it on patients the sweep did not see, docs/statistics.md)\n",
          scored);
    }
    if (absl::StatusOr<NestedEstimate> nested = NestedSelection(sweep, state); nested.ok()) {
      absl::StrAppend(&out, NestedText(sweep, *nested));
    }
  }
  return out;
}

absl::StatusOr<NestedEstimate> NestedSelection(const SweepConfig& sweep, const SweepState& state) {
  if (state.best < 0) return absl::FailedPreconditionError("no trial has completed every fold");
  const int best_rung = state.trials[state.best].rung;
  std::vector<const TrialState*> pool;
  for (const TrialState& t : state.trials) {
    if (t.rung == best_rung && t.Completed() && std::isfinite(t.objective)) pool.push_back(&t);
  }
  if (pool.size() < 2) {
    return absl::FailedPreconditionError(absl::StrCat(
        pool.size(), " trial(s) completed every fold: a choice needs at least two to choose from"));
  }
  const int k = static_cast<int>(pool[0]->folds.size());
  if (k < 2) {
    return absl::FailedPreconditionError("the sweep runs one fold: nothing to hold out");
  }
  NestedEstimate n;
  n.folds = k;
  n.candidates = static_cast<int>(pool.size());
  n.best = state.best;
  n.best_mean = state.trials[state.best].objective;
  for (int f = 0; f < k; ++f) {
    const TrialState* chosen = nullptr;
    double chosen_rest = std::nan("");
    for (const TrialState* t : pool) {  // in trial order: ties go to the lower trial
      double rest = 0;
      for (int g = 0; g < k; ++g) {
        if (g != f) rest += t->folds[g].objective;
      }
      rest /= k - 1;
      if (chosen == nullptr || ObjectiveBetter(sweep, rest, chosen_rest)) {
        chosen = t;
        chosen_rest = rest;
      }
    }
    n.fold.push_back(chosen->folds[f].fold);
    n.chosen.push_back(chosen->trial);
    n.scores.push_back(chosen->folds[f].objective);
    n.runs.push_back(chosen->folds[f].run_dir);
  }
  double sum = 0;
  for (double v : n.scores) sum += v;
  n.mean = sum / k;
  double ss = 0;
  for (double v : n.scores) ss += (v - n.mean) * (v - n.mean);
  n.sd = std::sqrt(ss / (k - 1));
  return n;
}

std::string NestedText(const SweepConfig& sweep, const NestedEstimate& n) {
  std::vector<std::string> per_fold;
  for (size_t i = 0; i < n.fold.size(); ++i) {
    per_fold.push_back(
        absl::StrFormat("fold %d: trial %d, %.4f", n.fold[i], n.chosen[i], n.scores[i]));
  }
  return absl::StrFormat(
      "nested estimate (the choice among %d trials repeated without each fold, each fold scored "
      "by the trial best on the others): %s %.4f +- %.4f over %d folds, against the best "
      "trial's own %.4f (%+.4f)\n  %s\n",
      n.candidates, sweep.objective().metric(), n.mean, n.sd, n.folds, n.best_mean,
      n.mean - n.best_mean, absl::StrJoin(per_fold, "; "));
}

}  // namespace malaria::experiments
