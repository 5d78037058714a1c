// Reading and checking a sweep config, and the trials it stands for (sweep.proto).
//
//   absl::StatusOr<SweepConfig> sweep = LoadSweepConfig("experiments/sweep/speedrun_lr.pbtxt");
//   RETURN_IF_ERROR(ValidateSweep(*sweep, workspace));  // every problem, each naming its field
//   for (const std::vector<std::string>& c : SweepCandidates(*sweep)) ...  // "field=value" each
//
// Nothing here runs anything: sweep_state.h reads what the tracker holds of a sweep and plans what
// runs next; run_sweep.cc runs it.
#ifndef MALARIA_EXPERIMENTS_SWEEP_SWEEP_SPEC_H_
#define MALARIA_EXPERIMENTS_SWEEP_SWEEP_SPEC_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "experiments/experiment.pb.h"
#include "experiments/sweep/sweep.pb.h"

namespace malaria::experiments {

// The most trials a sweep may plan (grid combinations, random draws, successive halving's
// candidates): a larger plan is refused at once, before anything is listed.
inline constexpr int kMaxSweepTrials = 10000;

// The longest sweep name: it names files and folders under the tracker root
// (sweeps/<name>.pbtxt, <name>-tNNN/, sweeps/<name>.claims/).
inline constexpr int kMaxSweepNameLength = 200;

// SweepNumberText writes a range's value as a config field takes it: an integer, or six
// significant digits.
std::string SweepNumberText(double v, bool integer);

// SweepAssignment is the override that gives `axis` the value `value`: "field=value".
std::string SweepAssignment(const SweepAxis& axis, const std::string& value);

// ParseSweepConfig parses text-format `text`; InvalidArgument with `source`, line and column of
// each syntax error or unknown field.
absl::StatusOr<SweepConfig> ParseSweepConfig(const std::string& text, const std::string& source);

// LoadSweepConfig reads and parses `path` (NotFound naming it). A sweep without a name takes the
// file's stem.
absl::StatusOr<SweepConfig> LoadSweepConfig(const std::string& path);

// SweepExperimentPath returns where the sweep's experiment config is: `experiment` as given when
// absolute, else relative to `workspace`.
std::string SweepExperimentPath(const SweepConfig& sweep, const std::string& workspace);

// LoadSweepExperiment loads the sweep's experiment config with the sweep's `set` overrides
// applied. Errors name the sweep field ("experiment: ...", "set[1]: ...").
absl::StatusOr<ExperimentConfig> LoadSweepExperiment(const SweepConfig& sweep,
                                                     const std::string& workspace);

// AxisGridValues returns an axis's values as text: its `values`, or its range's `points` values
// from min to max (evenly spaced on the scale; rounded when integer; "%.6g").
std::vector<std::string> AxisGridValues(const SweepAxis& axis);

// SweepCandidates returns the combinations of axis values the method tries, each as the "field=
// value" assignments of the axes in order: the grid (the last axis fastest), or `trials`
// (`candidates`) draws seeded with the method's seed. Deterministic for a given config.
std::vector<std::vector<std::string>> SweepCandidates(const SweepConfig& sweep);

// SweepFolds returns the folds each trial runs: the sweep's `folds`, else 0..k-1.
std::vector<int> SweepFolds(const SweepConfig& sweep, int k);

// RungEpochs returns successive halving's epochs per rung, min_epochs times eta^r capped at
// max_epochs, ending with the first rung at max_epochs. Empty for the other methods.
std::vector<int> RungEpochs(const SweepConfig& sweep);

// ValidSweepName reports whether `name` may name a sweep: 1 to kMaxSweepNameLength letters,
// digits, '.', '_' and '-', and not "." or ".." (it becomes file and folder names under the
// tracker root).
bool ValidSweepName(const std::string& name);

// TrialExperimentName returns the experiment name of trial `trial`'s runs: "<sweep>-t<NNN>".
std::string TrialExperimentName(const SweepConfig& sweep, int trial);

// ValidateSweepShape checks the sweep config alone, without listing its trials: the name, each
// axis (a field, exactly one of values and a non-empty range, a positive log range, at most
// kMaxSweepTrials points; not a field the sweep sets itself, name, the fold and folds of
// data.split.patient_kfold and tracker.root, nor a message holding one; no field on two axes),
// the `set` fields, the method's numbers, the objective's metric, the budget, and the size of the
// plan (at most kMaxSweepTrials candidates). InvalidArgument listing every problem.
absl::Status ValidateSweepShape(const SweepConfig& sweep);

// ValidateSweep checks everything before anything runs: ValidateSweepShape, the experiment
// (found, parsed, split by patient_kfold), the folds; then builds the config of every candidate at
// every rung's epochs and validates it as a run does (ValidateExperimentConfig), so an unknown
// field, an ill-typed value or a value a training ingredient refuses is named with its axis
// before any trial starts. InvalidArgument listing every problem, one per line ("axis[1]
// (training.stage[0].lr.max): value 'fast': ..."); NotFound when the experiment config is missing.
// When valid and `experiment` is given, it receives the experiment it checked (LoadSweepExperiment:
// the file with the sweep's `set`), so the caller does not read it again.
absl::Status ValidateSweep(const SweepConfig& sweep, const std::string& workspace,
                           ExperimentConfig* experiment = nullptr);

// KnownObjectiveMetrics: the k-fold metric names an objective may name.
const std::vector<std::string>& KnownObjectiveMetrics();

// SweepSpecText returns the sweep in text format without its budget: what must be the same for a
// second invocation to continue a sweep (a budget may be raised).
std::string SweepSpecText(const SweepConfig& sweep);

}  // namespace malaria::experiments

#endif  // MALARIA_EXPERIMENTS_SWEEP_SWEEP_SPEC_H_
