// A sweep opened for running: its config checked, its experiment resolved, what the tracker root
// keeps of it compared, and one trial fold run here under a claim. run_sweep.cc's executors (one
// process, --jobs children, Slurm array tasks) are built on these.
//
//   absl::StatusOr<OpenedSweep> s = OpenSweep(sweep_path, runs_dir, command_line);
//   absl::StatusOr<SweepState> state = ReadSweepStateOf(*s, /*retry_failed=*/false);  // the plan
//   RETURN_IF_ERROR(KeepSweep(*s));        // the first run writes <root>/sweeps/<name>.pbtxt
//   absl::StatusOr<std::optional<int>> ran = RunClaimedTrialFold(*s, work, false);
#ifndef MALARIA_EXPERIMENTS_SWEEP_SWEEP_SESSION_H_
#define MALARIA_EXPERIMENTS_SWEEP_SWEEP_SESSION_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "experiments/experiment.pb.h"
#include "experiments/sweep/sweep.pb.h"
#include "experiments/sweep/sweep_state.h"

namespace malaria::experiments {

struct OpenedSweep {
  SweepConfig config;
  std::string sweep_path;       // absolute
  std::string workspace;        // the workspace rule of a run, with the sweep file as config
  std::string experiment_path;  // absolute
  ExperimentConfig experiment;  // the experiment with the sweep's `set`, defaults written out
  std::string root;             // tracker root
  int k = 0;                    // the experiment's folds
  std::vector<std::string> command_line;
  bool kept = false;  // the tracker root keeps this sweep already, as it is now
  // The sweep's runs as last read: each ReadSweepStateOf reads only what changed since.
  std::shared_ptr<SweepRunCache> runs = std::make_shared<SweepRunCache>();
};

// OpenSweep loads and validates the sweep of `sweep_path` (ValidateSweep) and resolves its
// tracker root (`runs_dir`, else the experiment's or the workspace's). When the root keeps a sweep
// of that name, its config must be the same but for the budget and description, and its
// experiment the same field for field (FailedPrecondition naming the changed fields otherwise).
// Writes nothing.
absl::StatusOr<OpenedSweep> OpenSweep(const std::string& sweep_path, const std::string& runs_dir,
                                      const std::vector<std::string>& command_line);

// ReadSweepStateOf plans the sweep from its runs under the root (ReadSweepState).
absl::StatusOr<SweepState> ReadSweepStateOf(const OpenedSweep& s, bool retry_failed);

// KeepSweep writes what the root keeps of the sweep (sweep.proto's KeptSweep), unless it keeps it
// already as it is. Call it once the plan was read without error, so a refused change leaves the
// kept file as it was.
absl::Status KeepSweep(const OpenedSweep& s);

// RunClaimedTrialFold runs (or resumes) one trial fold here, under its claim
// (experiments/sweep/trial_claim.h): the run's exit status (base/main.h), or nullopt when the fold
// was left alone: another process holds its claim, or read again under the claim it no longer
// needs running. Before a fold starts, the experiment file is read again and must not have
// changed. A fold refused before it started (its config or this machine: InvalidArgument or
// FailedPrecondition) is recorded as a FAILED run (RunInfo.not_started, the reason) and gives
// kExitFailed, so the sweep goes on; other errors are returned.
absl::StatusOr<std::optional<int>> RunClaimedTrialFold(const OpenedSweep& s, const TrialWork& work,
                                                       bool retry_failed);

}  // namespace malaria::experiments

#endif  // MALARIA_EXPERIMENTS_SWEEP_SWEEP_SESSION_H_
