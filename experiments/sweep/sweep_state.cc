#include "experiments/sweep/sweep_state.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/files.h"
#include "base/text_proto.h"
#include "experiments/store/kfold.h"
#include "experiments/store/tracker.h"
#include "experiments/sweep/sweep_spec.h"
#include "google/protobuf/util/message_differencer.h"

namespace malaria::experiments {
namespace {

double OrZero(double v) { return std::isfinite(v) ? v : 0.0; }

bool Better(const SweepConfig& sweep, double a, double b) {
  if (!std::isfinite(a)) return false;
  if (!std::isfinite(b)) return true;
  return sweep.objective().goal() == SweepObjective::MINIMIZE ? a < b : a > b;
}

// The objective metric of each completed fold of each trial: experiment name -> fold -> value.
std::map<std::string, std::map<int, double>> ObjectiveByTrial(const SweepConfig& sweep,
                                                              const std::vector<LoadedRun>& runs) {
  std::map<std::string, std::map<int, double>> out;
  for (const KFoldSummary& s : SummarizeKFolds(runs)) {
    for (const FoldedMetric& m : s.metrics) {
      if (m.name != sweep.objective().metric()) continue;
      for (size_t i = 0; i < s.present.size() && i < m.values.size(); ++i) {
        out[s.experiment][s.present[i]] = m.values[i];
      }
    }
  }
  return out;
}

// Fills `trial`'s folds from `runs` (those of its trial number, by fold).
void ReadFolds(const std::vector<const LoadedRun*>& runs, const std::vector<int>& folds,
               const std::map<int, double>& objectives, const std::string& host, bool retry_failed,
               TrialState* trial) {
  trial->folds.clear();
  for (int f : folds) {
    TrialFold tf;
    tf.fold = f;
    const LoadedRun* latest = nullptr;
    const LoadedRun* completed = nullptr;
    for (const LoadedRun* r : runs) {
      if (r->info.sweep().fold() != f) continue;
      tf.tflop += OrZero(r->info.training_tflop());
      tf.seconds += OrZero(TrainingSeconds(r->info));
      if (latest == nullptr || r->info.run_id() > latest->info.run_id()) latest = r;
      if (r->info.status() == RunInfo::COMPLETED &&
          (completed == nullptr || r->info.run_id() > completed->info.run_id())) {
        completed = r;
      }
    }
    if (completed != nullptr) {
      tf.status = TrialFold::kCompleted;
      tf.run_dir = completed->dir.path();
      tf.end_time = completed->info.end_time();
      const auto it = objectives.find(f);
      tf.objective = it != objectives.end() ? it->second : std::nan("");
    } else if (latest != nullptr) {
      tf.run_dir = latest->dir.path();
      switch (latest->info.status()) {
        case RunInfo::RUNNING:
          tf.status = latest->info.host() == host && !ProcessAlive(latest->info.pid())
                          ? TrialFold::kResumable
                          : TrialFold::kRunning;
          break;
        case RunInfo::FAILED:
          tf.not_started = latest->info.not_started();
          tf.status = !retry_failed    ? TrialFold::kFailed
                      : tf.not_started ? TrialFold::kNotStarted
                                       : TrialFold::kResumable;
          break;
        default:
          tf.status = TrialFold::kResumable;
      }
    }
    trial->folds.push_back(tf);
  }
  trial->objective = trial->objective_sd = std::nan("");
  if (trial->Completed()) {
    std::vector<double> values;
    for (const TrialFold& tf : trial->folds) values.push_back(tf.objective);
    const FoldedMetric m = Folded("objective", values);
    if (m.counted == static_cast<int>(values.size())) {
      trial->objective = m.mean;
      trial->objective_sd = m.sd;
    }
  }
}

}  // namespace

bool TrialState::Done() const {
  for (const TrialFold& f : folds) {
    if (f.status != TrialFold::kCompleted && f.status != TrialFold::kFailed) return false;
  }
  return true;
}

bool TrialState::Started() const {
  for (const TrialFold& f : folds) {
    if (f.status != TrialFold::kNotStarted) return true;
  }
  return false;
}

bool TrialState::Completed() const {
  for (const TrialFold& f : folds) {
    if (f.status != TrialFold::kCompleted) return false;
  }
  return true;
}

std::string TrialStatus(const TrialState& t, bool budget_spent) {
  int running = 0, resumable = 0, failed = 0, completed = 0;
  for (const TrialFold& f : t.folds) {
    running += f.status == TrialFold::kRunning;
    resumable += f.status == TrialFold::kResumable;
    failed += f.status == TrialFold::kFailed;
    completed += f.status == TrialFold::kCompleted;
  }
  if (running > 0) return "running";
  if (failed > 0) return "failed";
  if (resumable > 0) return "resumable";
  if (completed == static_cast<int>(t.folds.size())) return "done";
  if (!t.Started()) return budget_spent ? "not run (budget)" : "pending";
  return "partial";
}

std::string TrialState::EndTime() const {
  std::string end;
  for (const TrialFold& f : folds) end = std::max(end, f.end_time);
  return end;
}

bool IsTrialFolder(absl::string_view folder, absl::string_view name) {
  // TrialExperimentName: "<name>-t" and the trial's digits.
  if (!absl::ConsumePrefix(&folder, name) || !absl::ConsumePrefix(&folder, "-t")) return false;
  return !folder.empty() && std::all_of(folder.begin(), folder.end(), [](char c) {
    return absl::ascii_isdigit(static_cast<unsigned char>(c));
  });
}

std::vector<LoadedRun> SweepRuns(const std::string& root, const std::string& name) {
  SweepRunCache cache;
  return cache.Refresh(root, name);
}

const std::vector<LoadedRun>& SweepRunCache::Refresh(const std::string& root,
                                                     const std::string& name) {
  // Only the sweep's own experiment folders are read, however many other runs share the root.
  std::vector<std::string> folders;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(root, ec)) {
    if (entry.is_directory(ec) && IsTrialFolder(entry.path().filename().string(), name)) {
      folders.push_back(entry.path().string());
    }
  }
  std::sort(folders.begin(), folders.end());
  std::vector<LoadedRun> runs;
  std::map<std::string, Entry> seen;
  for (const std::string& folder : folders) {
    for (const std::string& dir : FindRuns(folder)) {
      const std::filesystem::path info = std::filesystem::path(dir) / "run_info.pbtxt";
      Entry now;
      now.modified = std::filesystem::last_write_time(info, ec);
      now.size = std::filesystem::file_size(info, ec);
      auto it = entries_.find(dir);
      if (it != entries_.end() && it->second.modified == now.modified &&
          it->second.size == now.size) {
        if (it->second.run >= 0) {  // moved, not copied, from the last Refresh's runs
          now.run = static_cast<int>(runs.size());
          runs.push_back(std::move(runs_[it->second.run]));
        }
      } else {
        ++loads_;
        absl::StatusOr<LoadedRun> run = LoadRun(dir);
        if (run.ok() && run->info.sweep().sweep() == name) {
          now.run = static_cast<int>(runs.size());
          runs.push_back(*std::move(run));
        }
      }
      seen[dir] = now;
    }
  }
  entries_ = std::move(seen);  // runs removed since are forgotten
  runs_ = std::move(runs);
  return runs_;
}

absl::StatusOr<SweepState> ReadSweepState(const SweepConfig& sweep, int k,
                                          const std::vector<LoadedRun>& runs,
                                          const std::string& host, bool retry_failed) {
  SweepState state;
  const std::vector<int> folds = SweepFolds(sweep, k);
  const std::vector<std::vector<std::string>> candidates = SweepCandidates(sweep);
  const std::vector<int> rung_epochs = RungEpochs(sweep);
  state.rungs = std::max<int>(1, rung_epochs.size());
  const int cap = sweep.budget().max_trials() > 0 ? sweep.budget().max_trials() : 1 << 30;
  const int eta = std::max(2, sweep.successive_halving().eta());

  std::map<int, std::vector<const LoadedRun*>> by_trial;
  for (const LoadedRun& r : runs) by_trial[r.info.sweep().trial()].push_back(&r);
  const auto objectives = ObjectiveByTrial(sweep, runs);
  for (const LoadedRun& r : runs) {
    state.tflop += OrZero(r.info.training_tflop());
    state.hours += OrZero(TrainingSeconds(r.info)) / 3600;
  }

  auto add_trial = [&](int candidate, int rung) {
    TrialState t;
    t.trial = static_cast<int>(state.trials.size());
    t.candidate = candidate;
    t.rung = rung;
    t.assignment = candidates[candidate];
    if (!rung_epochs.empty()) {
      t.epochs = rung_epochs[rung];
      t.assignment.push_back(
          absl::StrCat(sweep.successive_halving().epochs_field(), "=", t.epochs));
    }
    static const std::map<int, double> kNone;
    const auto it = objectives.find(TrialExperimentName(sweep, t.trial));
    ReadFolds(by_trial[t.trial], folds, it != objectives.end() ? it->second : kNone, host,
              retry_failed, &t);
    state.trials.push_back(std::move(t));
  };

  std::vector<int> rung_members;  // candidates of the rung being planned
  for (int c = 0; c < static_cast<int>(candidates.size()); ++c) rung_members.push_back(c);
  for (int rung = 0; rung < state.rungs; ++rung) {
    const size_t first = state.trials.size();
    for (int c : rung_members) {
      if (static_cast<int>(state.trials.size()) >= cap) break;
      add_trial(c, rung);
    }
    state.current_rung = rung;
    if (rung + 1 == state.rungs) break;
    // The next rung once this one is done: the best ceil(n / eta) of its completed trials.
    std::vector<const TrialState*> done;
    bool all_done = state.trials.size() > first;
    for (size_t i = first; i < state.trials.size(); ++i) {
      all_done = all_done && state.trials[i].Done();
      if (std::isfinite(state.trials[i].objective)) done.push_back(&state.trials[i]);
    }
    if (!all_done || done.empty()) break;
    std::stable_sort(done.begin(), done.end(), [&](const TrialState* a, const TrialState* b) {
      return Better(sweep, a->objective, b->objective);
    });
    const size_t n = state.trials.size() - first;
    done.resize(std::min(done.size(), (n + eta - 1) / eta));
    rung_members.clear();
    for (const TrialState* t : done) rung_members.push_back(t->candidate);
    std::sort(rung_members.begin(), rung_members.end());
  }

  // Every run must be one the plan has, with the plan's assignment.
  for (const auto& [trial, trial_runs] : by_trial) {
    for (const LoadedRun* r : trial_runs) {
      const std::vector<std::string> recorded(r->info.sweep().assignment().begin(),
                                              r->info.sweep().assignment().end());
      const bool planned = trial >= 0 && trial < static_cast<int>(state.trials.size());
      if (planned && recorded == state.trials[trial].assignment) continue;
      if (!planned && trial >= 0 && state.trials.size() < static_cast<size_t>(cap)) {
        continue;  // a later rung's run while this one is re-planned (a fold retried): kept
      }
      if (!planned && trial >= cap) {
        return absl::FailedPreconditionError(
            absl::StrCat("sweep ", sweep.name(), ": budget.max_trials is ", cap, " but trial ",
                         trial, " already has runs (", r->dir.path(),
                         "); a budget may be raised, not lowered below what ran"));
      }
      return absl::FailedPreconditionError(absl::StrCat(
          "sweep ", sweep.name(), ": run ", r->dir.path(), " records trial ", trial, " as {",
          absl::StrJoin(recorded, ", "), "} but this sweep config plans ",
          planned ? absl::StrCat("{", absl::StrJoin(state.trials[trial].assignment, ", "), "}")
                  : "no such trial",
          ": the sweep config changed under the same name; give the new one another name"));
    }
  }

  const SweepBudget& b = sweep.budget();
  state.budget_spent = (b.max_tflop() > 0 && state.tflop >= b.max_tflop()) ||
                       (b.max_hours() > 0 && state.hours >= b.max_hours());
  bool running = false;
  for (const TrialState& t : state.trials) {
    const bool may_start = t.Started() || !state.budget_spent;
    for (const TrialFold& f : t.folds) {
      running = running || f.status == TrialFold::kRunning;
      if (f.status == TrialFold::kNotStarted && may_start) {
        state.todo.push_back({t.trial, f.fold, ""});
      } else if (f.status == TrialFold::kResumable) {
        state.todo.push_back({t.trial, f.fold, f.run_dir});
      }
    }
  }
  bool last_rung_done = true;
  for (const TrialState& t : state.trials) {
    if (t.rung == state.current_rung) last_rung_done = last_rung_done && (t.Done() || !t.Started());
  }
  const bool more_rungs = state.current_rung + 1 < state.rungs && !state.budget_spent &&
                          static_cast<int>(state.trials.size()) < cap;
  // Without folds (a sweep whose experiment is unknown) nothing can be said to be done.
  state.finished =
      !folds.empty() && state.todo.empty() && !running && last_rung_done && !more_rungs;
  // A rung that could not promote anyone (every trial failed) ends the sweep too.
  if (state.todo.empty() && !running && last_rung_done && more_rungs) {
    bool any = false;
    for (const TrialState& t : state.trials) {
      any = any || (t.rung == state.current_rung && std::isfinite(t.objective));
    }
    state.finished = !any;
  }

  // The best: of the highest rung with a completed trial.
  int best_rung = -1;
  for (const TrialState& t : state.trials) {
    if (std::isfinite(t.objective)) best_rung = std::max(best_rung, t.rung);
  }
  for (const TrialState& t : state.trials) {
    if (t.rung != best_rung || !std::isfinite(t.objective)) continue;
    if (state.best < 0 || Better(sweep, t.objective, state.trials[state.best].objective)) {
      state.best = t.trial;
    }
  }
  return state;
}

SweepTrial SweepTrialTag(const SweepConfig& sweep, const TrialState& trial, int fold) {
  SweepTrial tag;
  tag.set_sweep(sweep.name());
  tag.set_trial(trial.trial);
  tag.set_candidate(trial.candidate);
  tag.set_rung(trial.rung);
  for (const std::string& a : trial.assignment) tag.add_assignment(a);
  tag.set_fold(fold);
  return tag;
}

std::vector<std::string> TrialOverrides(const SweepConfig& sweep, const TrialState& trial,
                                        int fold) {
  std::vector<std::string> sets(sweep.set().begin(), sweep.set().end());
  sets.insert(sets.end(), trial.assignment.begin(), trial.assignment.end());
  sets.push_back(absl::StrCat("name=", TrialExperimentName(sweep, trial.trial)));
  sets.push_back(absl::StrCat("data.split.patient_kfold.fold=", fold));
  return sets;
}

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
      if (chosen == nullptr || Better(sweep, rest, chosen_rest)) {
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

std::string KeptSweepConfigPath(const std::string& root, const std::string& name) {
  return base::JoinPath(root, absl::StrCat("sweeps/", name, ".pbtxt"));
}

std::vector<std::string> ListSweeps(const std::string& root) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(base::JoinPath(root, "sweeps"), ec)) {
    const std::string file = e.path().filename().string();
    if (e.is_regular_file(ec) && absl::EndsWith(file, ".pbtxt")) {
      names.push_back(std::string(absl::StripSuffix(file, ".pbtxt")));
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

absl::StatusOr<KeptSweep> ReadKeptSweep(const std::string& root, const std::string& name) {
  const std::string path = KeptSweepConfigPath(root, name);
  absl::StatusOr<std::string> text = base::ReadFile(path);
  if (!text.ok()) {
    if (absl::IsNotFound(text.status())) {
      return absl::NotFoundError(
          absl::StrCat("no sweep '", name, "' under ", root, " (no ", path, ")"));
    }
    return text.status();
  }
  KeptSweep kept;
  if (base::ParseTextProto(*text, path, &kept).ok()) return kept;
  // Kept by an earlier version: the sweep config alone.
  absl::StatusOr<SweepConfig> config = ParseSweepConfig(*text, path);
  if (!config.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the kept sweep ", path, " cannot be read: ", config.status().message()));
  }
  *kept.mutable_config() = *std::move(config);
  return kept;
}

std::string ExperimentChanges(const ExperimentConfig& kept, const ExperimentConfig& now,
                              int max_lines) {
  std::string report;
  {
    google::protobuf::util::MessageDifferencer differ;
    differ.ReportDifferencesToString(&report);
    differ.Compare(kept, now);
  }
  std::vector<std::string> lines = absl::StrSplit(report, '\n', absl::SkipEmpty());
  std::string out;
  for (size_t i = 0; i < lines.size() && i < static_cast<size_t>(max_lines); ++i) {
    absl::StrAppend(&out, "  ", lines[i], "\n");
  }
  if (lines.size() > static_cast<size_t>(max_lines)) {
    absl::StrAppend(&out, "  ... and ", lines.size() - max_lines, " more\n");
  }
  return out;
}

absl::StatusOr<SweepRecord> ReadSweep(const std::string& root, const std::string& name,
                                      const std::vector<LoadedRun>& runs, const std::string& host) {
  // Only a sweep's own name: never a path out of <root>/sweeps.
  if (!ValidSweepName(name))
    return absl::NotFoundError(absl::StrCat("no sweep named '", name, "'"));
  absl::StatusOr<KeptSweep> kept = ReadKeptSweep(root, name);
  if (!kept.ok()) return kept.status();
  SweepConfig& config = *kept->mutable_config();
  if (!config.has_name()) config.set_name(name);
  // A kept file is read as it is: a plan too large to list is named, not listed.
  if (absl::Status s = ValidateSweepShape(config); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(KeptSweepConfigPath(root, name), ": ", s.message()));
  }
  std::vector<LoadedRun> mine;
  int k = kept->experiment_folds();
  const bool legacy = k <= 0;
  for (const LoadedRun& r : runs) {
    if (r.info.sweep().sweep() != name) continue;
    mine.push_back(r);
    if (legacy) k = std::max(k, r.config.data().split().patient_kfold().folds());
  }
  if (legacy) {
    for (int f : config.folds()) k = std::max(k, f + 1);
  }
  absl::StatusOr<SweepState> state = ReadSweepState(config, k, mine, host);
  if (!state.ok()) return state.status();
  return SweepRecord{std::move(config), *std::move(state)};
}

}  // namespace malaria::experiments
