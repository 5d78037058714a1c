// Reading run directories back: for the tools that evaluate, classify with and compare runs.
//
//   absl::StatusOr<LoadedRun> run = LoadRun("runs/resnet34_two_stage/20261125-225154");
//   run->info.status(), run->config, run->table.rows(), run->final_report.accuracy() ...
//   std::vector<std::string> runs = FindRuns("runs/resnet34_two_stage");  // every run inside
#ifndef MALARIA_EXPERIMENTS_STORE_RUN_READER_H_
#define MALARIA_EXPERIMENTS_STORE_RUN_READER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "evaluation/report.pb.h"
#include "experiments/experiment.pb.h"
#include "experiments/store/metrics_table.h"
#include "experiments/store/run_info.pb.h"
#include "experiments/store/tracker.h"

namespace malaria::experiments {

// The run directory layout this build writes (RunInfo.format_version).
constexpr int kRunFormatVersion = 1;

struct LoadedRun {
  RunDirectory dir;
  RunInfo info;
  ExperimentConfig config;
  MetricsTable table;  // metrics.csv (empty before the first epoch)
  bool has_final_report = false;
  evaluation::ClassificationReport final_report;  // metrics.pbtxt, once the run completed
  // calibrated/metrics.pbtxt: the final model with the calibration fitted on the same validation
  // set (in-sample), with per-patient parasitemia and the fitted diagnosis rule.
  bool has_calibrated_report = false;
  evaluation::ClassificationReport calibrated_report;
};

// LoadRun reads a run directory's records. NotFound if `path` is not a folder; FailedPrecondition
// naming the missing file for an incomplete directory (no run_info.pbtxt or config.pbtxt), and for
// records this version cannot read (a newer format, or a config with fields it does not know).
absl::StatusOr<LoadedRun> LoadRun(const std::string& path);

// FindRuns returns the run directories at or below `path` (a run directory, an experiment folder
// of runs, or a tracker root of experiment folders), sorted.
std::vector<std::string> FindRuns(const std::string& path);

// RequireFinished returns FailedPrecondition, with the process and host, when the run is still
// RUNNING (its checkpoints are being rewritten).
absl::Status RequireNotRunning(const LoadedRun& run);

}  // namespace malaria::experiments

#endif  // MALARIA_EXPERIMENTS_STORE_RUN_READER_H_
