// Runs one experiment end to end: config, data, model, the stages, evaluation, and the run's
// record in the tracker. This is what `bazel run //experiments:<name>` executes.
//
//   RunOptions options;
//   options.config_path = "experiments/resnet34_two_stage.pbtxt";
//   options.overrides = {"data.image_size=64"};
//   absl::StatusOr<RunResult> result = RunExperiment(options);
//   // !ok(): nothing was started (bad config, missing data...), the message says what and where.
//   // ok(): result->info.status() is COMPLETED, FAILED or INTERRUPTED; result->run_dir holds it
//   all.
#ifndef MALARIA_EXPERIMENTS_RUNNER_H_
#define MALARIA_EXPERIMENTS_RUNNER_H_

#include <cstdio>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "experiments/experiment.pb.h"
#include "experiments/store/run_info.pb.h"

namespace malaria::training {
class Distributed;
}

namespace malaria::experiments {

struct RunOptions {
  std::string config_path;
  std::vector<std::string> overrides;  // "field.path=value", applied in order
  std::string runs_dir;                // tracker root; empty: $MALARIA_RUNS_DIR, config, workspace
  // Empty: $BUILD_WORKSPACE_DIRECTORY, else the workspace the config file is in, else the one the
  // current folder is in, else the current folder (RunWorkspace); a resumed run's recorded one.
  std::string workspace;
  std::vector<std::string> command_line;
  std::FILE* out = stdout;  // the table and progress
  // Continue this interrupted (or failed) run instead of starting one: its saved config, data and
  // split are used (they must be unchanged), training resumes after its last completed epoch, and
  // the result is exactly what an uninterrupted run would have given.
  std::string resume_dir;
  // Data-parallel training: this process's place in the job (nullptr: one process). Rank 0 owns
  // the run directory (everything recorded, checkpoints, reports); every rank trains on its shard
  // of each batch, and the others write only logs/rank<R>.log. All must get the same options.
  training::Distributed* distributed = nullptr;
  // A fresh run started by a sweep records its trial (RunInfo.sweep); a resumed run keeps its own.
  SweepTrial sweep_trial;
};

struct RunResult {
  std::string run_dir;
  RunInfo info;
  ExperimentConfig config;  // as resolved and saved
};

// RunWorkspace returns the workspace a run of `options` starts from (RunOptions::workspace).
std::string RunWorkspace(const RunOptions& options);

// RunExperiment runs the experiment described by `options`, or resumes options.resume_dir. Errors
// found before the run starts (unreadable or invalid config, missing or unusable data, a run that
// cannot be resumed) are returned as a status and create no run directory. Once the run directory
// exists, every failure (writing the record itself included) and interrupt is recorded in it and
// returned in RunResult::info: a run is never left RUNNING by a process that ended.
absl::StatusOr<RunResult> RunExperiment(const RunOptions& options);

// RecordRefusedRun records a fresh run of `options` that RunExperiment refused before it started
// (`refusal`) as a FAILED run with RunInfo.not_started and the reason, its config as resolved so
// far (`config`), its provenance as any run's; a sweep records its refused trials so. Returns the
// run directory.
absl::StatusOr<std::string> RecordRefusedRun(const RunOptions& options,
                                             const ExperimentConfig& config,
                                             const absl::Status& refusal);

// RecordedPath returns how run_info records a path the user gave: relative to `workspace` when it
// lies inside it (what a teammate's checkout has), the workspace file a Bazel runfiles path stands
// for, otherwise absolute. Arguments that are not existing paths are returned as they are.
std::string RecordedPath(const std::string& path, const std::string& workspace);

// EpochsCompleted returns the epochs `info` records as completed, over all stages.
int EpochsCompleted(const RunInfo& info);

// ReportEnd prints how the run ended (to `out` when completed and `primary`, else to `err`):
// where its directory is and, when interrupted, whether --resume continues after a checkpoint or
// starts again. Returns the exit status (base/main.h): 0 completed, 1 failed, 130 interrupted.
int ReportEnd(const RunResult& result, bool primary, std::FILE* out, std::FILE* err);

}  // namespace malaria::experiments

#endif  // MALARIA_EXPERIMENTS_RUNNER_H_
