// A sweep as the tracker holds it, and what runs next. The state is read from the runs alone
// (their RunInfo.sweep tags), never from a scheduler: any process (a local executor, a Slurm array
// task, the dashboard) reading the same tracker root sees the same sweep.
//
//   std::vector<LoadedRun> runs = SweepRuns(root, sweep.name());
//   absl::StatusOr<SweepState> state = ReadSweepState(sweep, k, runs, HostName());
//   for (const TrialState& t : state->trials) ...   // planned so far, with their folds' runs
//   state->todo                                       // trial folds to start or resume now
//   std::cout << SweepTable(sweep, *state).ToString();
#ifndef MALARIA_EXPERIMENTS_SWEEP_SWEEP_STATE_H_
#define MALARIA_EXPERIMENTS_SWEEP_SWEEP_STATE_H_

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "base/text_table.h"
#include "experiments/store/run_reader.h"
#include "experiments/sweep/sweep.pb.h"

namespace malaria::experiments {

// One fold of one trial, as its runs say.
struct TrialFold {
  enum Status {
    kNotStarted,
    kRunning,    // RUNNING, its process alive (or on another machine)
    kResumable,  // INTERRUPTED, or RUNNING with its process gone: --resume finishes it
    kFailed,     // FAILED (not retried unless asked)
    kCompleted,
  };
  int fold = 0;
  Status status = kNotStarted;
  std::string run_dir;   // the run that decided the status (the latest, a completed one first)
  double objective = 0;  // the run's metric, when completed (NaN when it lacks it)
  double tflop = 0;      // training TFLOP recorded so far
  double seconds = 0;    // training seconds recorded so far
  std::string end_time;  // of the completed run (ISO 8601)
  // The latest run was refused before it started (RunInfo.not_started): retried, it starts anew.
  bool not_started = false;
};

struct TrialState {
  int trial = 0;
  int candidate = 0;
  int rung = 0;
  int epochs = 0;                       // successive halving's rung epochs, 0 otherwise
  std::vector<std::string> assignment;  // what SweepTrial.assignment records
  std::vector<TrialFold> folds;         // one per SweepFolds, in order
  // Mean and sample sd over the folds of the objective metric, once every fold completed
  // (NaN before, and when a fold failed).
  double objective = 0, objective_sd = 0;
  bool Done() const;            // every fold completed or failed
  bool Started() const;         // any fold has a run
  bool Completed() const;       // every fold completed
  std::string EndTime() const;  // the latest end_time of its completed folds ("" before any)
};

// A trial fold to run now: started fresh (resume_dir empty) or resumed.
struct TrialWork {
  int trial = 0;
  int fold = 0;
  std::string resume_dir;
};

struct SweepState {
  std::vector<TrialState> trials;  // planned so far, by trial number
  std::vector<TrialWork> todo;     // in trial, then fold order
  int rungs = 1;                   // successive halving's rungs (1 otherwise)
  int current_rung = 0;            // the rung being run (the last one planned)
  bool budget_spent = false;       // no new trial starts (budget.max_tflop or max_hours reached)
  bool finished = false;           // nothing left: every planned trial done, no rung to plan
  double tflop = 0, hours = 0;     // spent by the sweep's runs so far
  int best = -1;                   // the trial with the best objective, -1 before any
};

// IsTrialFolder reports whether experiment folder `folder` holds trials of sweep `name`
// ("<name>-tNNN", TrialExperimentName).
bool IsTrialFolder(absl::string_view folder, absl::string_view name);

// SweepRuns loads the runs tagged with sweep `name` in its trial folders under `root` (unreadable
// ones skipped); the root's other experiments are not read.
std::vector<LoadedRun> SweepRuns(const std::string& root, const std::string& name);

// SweepRuns read incrementally, for a sweep process that reads its state before every trial fold:
// Refresh lists the trial folders again and loads only the runs that are new or whose
// run_info.pbtxt changed (its modification time or size; a run rewrites it whenever it records
// anything a sweep reads) since the last Refresh, keeping the others as they were loaded.
// The runs returned are the cache's own (valid until the next Refresh), not copies.
class SweepRunCache {
 public:
  const std::vector<LoadedRun>& Refresh(const std::string& root, const std::string& name);
  int loads() const { return loads_; }  // run directories read from disk so far

 private:
  struct Entry {
    std::filesystem::file_time_type modified;
    std::uintmax_t size = 0;
    int run = -1;  // its index in runs_; -1: unreadable, or another sweep's
  };
  std::map<std::string, Entry> entries_;  // by run directory
  std::vector<LoadedRun> runs_;
  int loads_ = 0;
};

// ReadSweepState plans the sweep from what `runs` (its runs) hold: the first rung's trials are
// the candidates (budget.max_trials caps every rung's), each later rung the best 1/eta of the
// rung before once it is done (ties to the lower candidate). A run whose recorded assignment is
// not what the sweep plans for its trial is FailedPrecondition: the sweep config changed under
// the same name. `host` is this machine's, to tell a dead RUNNING run from a live one.
// `retry_failed` puts failed folds in todo (resumed; started anew when the failed run never
// started) instead of leaving them failed. Lowering budget.max_trials below a trial that has runs
// is FailedPrecondition too.
absl::StatusOr<SweepState> ReadSweepState(const SweepConfig& sweep, int k,
                                          const std::vector<LoadedRun>& runs,
                                          const std::string& host, bool retry_failed = false);

// ObjectiveBetter: whether objective value `a` beats `b` under the sweep's goal (a non-finite
// value never beats, and is beaten by any finite one).
bool ObjectiveBetter(const SweepConfig& sweep, double a, double b);

// TrialStatus says where a trial stands, as the table shows it: "running", "failed",
// "resumable", "done", "pending", "not run (budget)" (not started, the budget spent) or "partial".
std::string TrialStatus(const TrialState& trial, bool budget_spent);

// SweepTrialTag returns the RunInfo.sweep a run of `trial` on `fold` records.
SweepTrial SweepTrialTag(const SweepConfig& sweep, const TrialState& trial, int fold);

// TrialOverrides returns the --set assignments of a trial's run on `fold`: the sweep's `set`,
// the trial's assignment, its experiment name and the fold.
std::vector<std::string> TrialOverrides(const SweepConfig& sweep, const TrialState& trial,
                                        int fold);

// SweepTable: one row per trial (trial, rung, each axis's value, epochs when halving, folds done,
// objective mean +- sd, TFLOP, minutes, status), the best trial marked with '*'.
base::TextTable SweepTable(const SweepConfig& sweep, const SweepState& state);

// SweepSummary: a line saying how far the sweep is (trials done, TFLOP and hours spent, budget),
// and the best trial with its assignment.
std::string SweepSummary(const SweepConfig& sweep, const SweepState& state);

// The sweep's choice repeated without each fold, for the number a paper would print: for each fold
// f, the trial whose objective over the other folds is best (among the trials the best is chosen
// from: completed on every fold, of the highest rung), scored on f by its own run of f. Their mean
// estimates what choosing by this sweep gives on patients the choice did not look at, where the
// best trial's own mean is the luckiest of N on the same folds. The trials' runs of the other folds
// did train on f's patients, and successive halving promoted trials on every fold: the estimate
// removes the choice's optimism, not all of it a fully nested sweep (an inner cross-validation per
// outer fold, k - 1 times the runs) would.
struct NestedEstimate {
  int folds = 0;
  int candidates = 0;             // the trials chosen among
  std::vector<int> fold;          // each outer fold, in the sweep's fold order
  std::vector<int> chosen;        // per outer fold: the trial best on the others
  std::vector<double> scores;     // per outer fold: that trial's objective on it
  std::vector<std::string> runs;  // per outer fold: that trial's run of it
  double mean = 0, sd = 0;        // over the outer folds (sample sd)
  int best = -1;                  // the best trial (SweepState::best)
  double best_mean = 0;           // its own mean over every fold
};

// NestedSelection makes that estimate. FailedPrecondition when fewer than two trials completed
// every fold, or the sweep runs fewer than two folds.
absl::StatusOr<NestedEstimate> NestedSelection(const SweepConfig& sweep, const SweepState& state);

// NestedText says what NestedSelection found, in a line and the choice per fold.
std::string NestedText(const SweepConfig& sweep, const NestedEstimate& nested);

// KeptSweepConfigPath returns where run_sweep keeps sweep `name` (a KeptSweep) under tracker
// root `root`: <root>/sweeps/<name>.pbtxt.
std::string KeptSweepConfigPath(const std::string& root, const std::string& name);

// ReadKeptSweep reads what run_sweep kept of sweep `name` under `root`. NotFound when nothing is
// kept; FailedPrecondition naming the file when it cannot be read. A file kept by an earlier
// version (the bare SweepConfig) reads as a KeptSweep without experiment and folds.
absl::StatusOr<KeptSweep> ReadKeptSweep(const std::string& root, const std::string& name);

// ExperimentChanges lists how `now` differs from `kept`, one field a line ("modified: seed: 3 ->
// 4"), at most `max_lines` of them and a count of the rest. Empty when they are equal.
std::string ExperimentChanges(const ExperimentConfig& kept, const ExperimentConfig& now,
                              int max_lines = 8);

// ListSweeps returns the names of the sweeps kept under `root`, sorted.
std::vector<std::string> ListSweeps(const std::string& root);

struct SweepRecord {
  SweepConfig config;  // as kept
  SweepState state;
};

// ReadSweep reads sweep `name` of tracker root `root` for the tools that show sweeps (the
// dashboard, compare_runs): its kept config, and its state from `runs` (the root's runs; those of
// other sweeps are ignored). The folds of a sweep without `folds` are the kept experiment's (for
// a sweep kept by an earlier version, those its runs have). NotFound when no config is kept under
// that name; InvalidArgument when the kept config is not a valid sweep (ValidateSweepShape).
absl::StatusOr<SweepRecord> ReadSweep(const std::string& root, const std::string& name,
                                      const std::vector<LoadedRun>& runs, const std::string& host);

}  // namespace malaria::experiments

#endif  // MALARIA_EXPERIMENTS_SWEEP_SWEEP_STATE_H_
