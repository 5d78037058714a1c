// Checking a sweep config: its shape, its axes against the experiment, and the budget.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "base/files.h"
#include "base/problems.h"
#include "base/text_proto.h"
#include "experiments/config.h"
#include "experiments/sweep/sweep_spec.h"
namespace malaria::experiments {

namespace {

void CheckAxis(const SweepAxis& axis, const base::ConfigProblems& p) {
  if (axis.field().empty()) p.Add("field", "is empty; name a config field, as --set takes it");
  if (axis.values_size() > 0 && axis.has_range()) {
    p.Add("", "has both values and a range; give one");
  } else if (axis.values_size() == 0 && !axis.has_range()) {
    p.Add("", "has neither values nor a range: nothing to try");
  }
  for (int i = 0; i < axis.values_size(); ++i) {
    if (axis.values(i).empty()) p.Add(absl::StrCat("values[", i, "]"), "is empty");
  }
  if (!axis.has_range()) return;
  const SweepRange& r = axis.range();
  const base::ConfigProblems rp = p.In("range");
  if (!r.has_min() || !r.has_max()) rp.Add("", "needs both min and max");
  if (!std::isfinite(r.min()) || !std::isfinite(r.max()) || r.min() > r.max()) {
    rp.Add("", absl::StrCat("is empty: min ", r.min(), " is not <= max ", r.max()));
  }
  if (r.scale() == SweepRange::LOG && r.min() <= 0) {
    rp.Require(false, "min", "must be > 0 on a LOG scale", r.min());
  }
  rp.Require(r.points() >= 2 || (r.points() == 1 && r.min() == r.max()), "points",
             "must be >= 2 (1 only when min == max)", r.points());
  rp.Require(r.points() <= kMaxSweepTrials, "points",
             absl::StrCat("must be <= ", kMaxSweepTrials, " (a sweep plans at most ",
                          kMaxSweepTrials, " trials)"),
             r.points());
}

// The fields a sweep sets itself for every trial (TrialOverrides, run_sweep's --runs_dir): an axis
// or `set` on them, or on a message holding them, would be overridden or would move the trial's
// runs out of the sweep.
constexpr const char* kControlledFields[] = {
    "name",                           // the trial's experiment, <sweep>-tNNN
    "data.split.patient_kfold.fold",  // the sweep's folds
    "data.split.patient_kfold.folds",
    "tracker.root",  // the sweep's tracker root
};

// A field path as ApplyOverride reads it, without spaces.
std::string NormalizedField(absl::string_view field) {
  std::string out;
  for (char c : field) {
    if (!absl::ascii_isspace(static_cast<unsigned char>(c))) out += c;
  }
  return out;
}

// Whether `a` and `b` set the same value: equal, or one a message holding the other
// ("training.stage[0]" holds "training.stage[0].epochs"; "data.split" holds
// "data.split.patient_kfold.fold").
bool Overlap(absl::string_view a, absl::string_view b) {
  if (a.size() > b.size()) std::swap(a, b);
  return absl::StartsWith(b, a) &&
         (b.size() == a.size() || b[a.size()] == '.' || b[a.size()] == '[');
}

// The controlled field `field` touches, or "".
std::string ControlledField(absl::string_view field) {
  const std::string f = NormalizedField(field);
  for (const char* c : kControlledFields) {
    if (Overlap(f, c)) return c;
  }
  return "";
}

// The candidates the method plans, counted without listing them (a grid's product may be huge).
double CandidateCount(const SweepConfig& sweep) {
  const bool draws = sweep.method_case() == SweepConfig::kRandom ||
                     (sweep.method_case() == SweepConfig::kSuccessiveHalving &&
                      sweep.successive_halving().candidates() > 0);
  if (draws) {
    return sweep.method_case() == SweepConfig::kRandom ? sweep.random().trials()
                                                       : sweep.successive_halving().candidates();
  }
  double n = 1;
  for (const SweepAxis& axis : sweep.axis()) {
    // A range's points are bounded (CheckAxis) before this is counted.
    n *= axis.values_size() > 0 ? axis.values_size() : AxisGridValues(axis).size();
  }
  return n;
}

// Every rule of the sweep config itself (not its experiment's), without listing its candidates.
void CheckSweepShape(const SweepConfig& sweep, const base::ConfigProblems& problems) {
  if (!ValidSweepName(sweep.name())) {
    problems.Add("name", absl::StrCat("must be 1 to ", kMaxSweepNameLength,
                                      " letters, digits, '.', '_' and '-', got '",
                                      sweep.name().substr(0, 2 * kMaxSweepNameLength), "'"));
  }
  if (sweep.axis_size() == 0)
    problems.Add("axis", "none given: a sweep searches at least one field");
  for (int i = 0; i < sweep.axis_size(); ++i) {
    const SweepAxis& axis = sweep.axis(i);
    const base::ConfigProblems p = problems.In(absl::StrCat("axis[", i, "] (", axis.field(), ")"));
    CheckAxis(axis, p);
    if (const std::string c = ControlledField(axis.field()); !c.empty()) {
      p.Add("field", absl::StrCat("sets ", c, ", which the sweep sets itself for every trial"));
    }
    for (int j = 0; j < i; ++j) {
      if (Overlap(NormalizedField(axis.field()), NormalizedField(sweep.axis(j).field()))) {
        p.Add("field", absl::StrCat("sets what axis[", j, "] (", sweep.axis(j).field(),
                                    ") sets: one axis per field"));
      }
    }
  }
  for (int i = 0; i < sweep.set_size(); ++i) {
    const std::string field = sweep.set(i).substr(0, sweep.set(i).find('='));
    if (const std::string c = ControlledField(field); !c.empty()) {
      problems.Add(absl::StrCat("set[", i, "] ('", sweep.set(i), "')"),
                   absl::StrCat("sets ", c, ", which the sweep sets itself for every trial"));
    }
  }
  switch (sweep.method_case()) {
    case SweepConfig::kRandom:
      problems.In("random").Require(
          sweep.random().trials() >= 1 && sweep.random().trials() <= kMaxSweepTrials, "trials",
          absl::StrCat("must be in [1, ", kMaxSweepTrials, "]"), sweep.random().trials());
      break;
    case SweepConfig::kSuccessiveHalving: {
      const SuccessiveHalving& sh = sweep.successive_halving();
      const base::ConfigProblems p = problems.In("successive_halving");
      p.Require(sh.candidates() >= 0 && sh.candidates() <= kMaxSweepTrials, "candidates",
                absl::StrCat("must be in [0, ", kMaxSweepTrials, "] (0: the grid)"),
                sh.candidates());
      p.Require(sh.min_epochs() >= 1, "min_epochs", "must be >= 1", sh.min_epochs());
      p.Require(sh.max_epochs() >= sh.min_epochs(), "max_epochs", "must be >= min_epochs",
                sh.max_epochs());
      p.Require(sh.eta() >= 2, "eta", "must be >= 2", sh.eta());
      if (sh.epochs_field().empty()) p.Add("epochs_field", "is empty");
      for (const SweepAxis& axis : sweep.axis()) {
        if (axis.field() == sh.epochs_field()) {
          p.Add("epochs_field",
                absl::StrCat("'", axis.field(), "' is also an axis; the rungs set the epochs"));
        }
      }
      break;
    }
    case SweepConfig::kGrid:
    case SweepConfig::METHOD_NOT_SET:
      break;
  }
  const std::vector<std::string>& metrics = KnownObjectiveMetrics();
  if (std::find(metrics.begin(), metrics.end(), sweep.objective().metric()) == metrics.end()) {
    problems.In("objective")
        .Add("metric",
             absl::StrCat("'", sweep.objective().metric(), "' is not a k-fold metric (one of ",
                          absl::StrJoin(metrics, ", "), ")"));
  }
  const SweepBudget& b = sweep.budget();
  problems.In("budget").Require(b.max_trials() >= 0, "max_trials", "must be >= 0", b.max_trials());
  problems.In("budget").Require(b.max_tflop() >= 0, "max_tflop", "must be >= 0", b.max_tflop());
  problems.In("budget").Require(b.max_hours() >= 0, "max_hours", "must be >= 0", b.max_hours());
  if (!problems.empty()) return;  // counting needs sane axes and method numbers
  const double candidates = CandidateCount(sweep);
  if (candidates > kMaxSweepTrials) {
    problems.Add(
        sweep.method_case() == SweepConfig::kSuccessiveHalving ? "successive_halving" : "axis",
        absl::StrFormat("the grid has %.6g combinations; a sweep plans at most %d "
                        "trials (fewer values, or random search)",
                        candidates, kMaxSweepTrials));
  }
}

}  // namespace

absl::Status ValidateSweepShape(const SweepConfig& sweep) {
  base::ConfigProblems problems;
  CheckSweepShape(sweep, problems);
  return problems.ToStatus("invalid sweep config");
}

absl::Status ValidateSweep(const SweepConfig& sweep, const std::string& workspace,
                           ExperimentConfig* experiment) {
  base::ConfigProblems problems;
  CheckSweepShape(sweep, problems);

  absl::StatusOr<ExperimentConfig> base_config = LoadSweepExperiment(sweep, workspace);
  if (!base_config.ok()) {
    if (absl::IsNotFound(base_config.status()) || !problems.empty()) {
      if (!problems.empty()) problems.AddBelow(std::string(base_config.status().message()));
      return problems.empty() ? base_config.status() : problems.ToStatus("invalid sweep config");
    }
    return base_config.status();
  }
  if (!base_config->data().split().has_patient_kfold()) {
    problems.Add("experiment", absl::StrCat("'", sweep.experiment(),
                                            "' does not split by patient_kfold; a sweep scores "
                                            "each trial over patient folds"));
    return problems.ToStatus("invalid sweep config");
  }
  const int k = base_config->data().split().patient_kfold().folds();
  for (int i = 0; i < sweep.folds_size(); ++i) {
    const int f = sweep.folds(i);
    problems.Require(f >= 0 && f < k, absl::StrCat("folds[", i, "]"),
                     absl::StrCat("must be a fold of the experiment's ", k), f);
    for (int j = 0; j < i; ++j) {
      if (sweep.folds(j) == f) problems.Add(absl::StrCat("folds[", i, "]"), "repeats a fold");
    }
  }
  if (!problems.empty()) return problems.ToStatus("invalid sweep config");
  if (experiment != nullptr) *experiment = *base_config;

  // Each axis value alone on the base config: an unknown field or an ill-typed value is named once
  // with its axis, not once per combination.
  for (int i = 0; i < sweep.axis_size(); ++i) {
    const SweepAxis& axis = sweep.axis(i);
    const base::ConfigProblems p = problems.In(absl::StrCat("axis[", i, "] (", axis.field(), ")"));
    std::vector<std::string> values = AxisGridValues(axis);
    if (axis.has_range() && axis.values_size() == 0) {  // random draws too: both ends
      values.push_back(SweepNumberText(axis.range().min(), axis.range().integer()));
      values.push_back(SweepNumberText(axis.range().max(), axis.range().integer()));
    }
    for (const std::string& v : values) {
      ExperimentConfig c = *base_config;
      if (absl::Status s = ApplyOverride(SweepAssignment(axis, v), &c); !s.ok()) {
        p.Add("", absl::StrCat("value '", v, "': ", s.message()));
        break;
      }
    }
  }
  if (!problems.empty()) return problems.ToStatus("invalid sweep config");

  // Every trial's config, at every rung, passes the experiment's own validation (the one every
  // run makes before it starts). The fold is the sweep's and was checked above: the first stands
  // for all.
  std::vector<std::string> rung_sets;
  for (int e : RungEpochs(sweep)) {
    rung_sets.push_back(absl::StrCat(sweep.successive_halving().epochs_field(), "=", e));
  }
  if (rung_sets.empty()) rung_sets.push_back("");
  const int first_fold = SweepFolds(sweep, k).front();
  const std::vector<std::vector<std::string>> candidates = SweepCandidates(sweep);
  for (size_t c = 0; c < candidates.size(); ++c) {
    for (const std::string& rung : rung_sets) {
      ExperimentConfig config = *base_config;
      std::vector<std::string> sets = candidates[c];
      if (!rung.empty()) sets.push_back(rung);
      sets.push_back(absl::StrCat("data.split.patient_kfold.fold=", first_fold));
      absl::Status s;
      for (const std::string& a : sets) {
        if (s = ApplyOverride(a, &config); !s.ok()) break;
      }
      if (s.ok()) {
        FillDefaults(&config);
        s = ValidateExperimentConfig(config);
      }
      if (!s.ok()) {
        sets.pop_back();  // the fold says nothing
        problems.Add(absl::StrCat("candidate ", c, " (", absl::StrJoin(sets, ", "), ")"),
                     s.message());
        return problems.ToStatus("invalid sweep config");  // one is enough to see the rule
      }
    }
  }
  return problems.ToStatus("invalid sweep config");
}

}  // namespace malaria::experiments
