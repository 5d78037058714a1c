// Where a run continues after an interrupt or a failure, and the checks that come first (the
// runner's resume steps).
//
//   RETURN_IF_ERROR(CheckResumable(info, dir, here.host));        // not COMPLETED, not running
//   absl::StatusOr<ResumePoint> at = FindResumePoint(config, run);  // from its checkpoints
//   absl::StatusOr<MetricsTable> table = RewindRecord(run, config, *at, &info);
#ifndef MALARIA_EXPERIMENTS_RESUME_POINT_H_
#define MALARIA_EXPERIMENTS_RESUME_POINT_H_

#include <string>

#include "absl/status/statusor.h"
#include "experiments/experiment.pb.h"
#include "experiments/store/metrics_table.h"
#include "experiments/store/run_info.pb.h"
#include "experiments/store/tracker.h"

namespace malaria::experiments {

// Where a resumed run continues: stage `stage`, after `epochs_completed` of its epochs (from
// `checkpoint`, that stage's _last.pt, when > 0). stage == the number of stages: every epoch is
// done, only the final evaluation is left.
struct ResumePoint {
  int stage = 0;
  int epochs_completed = 0;
  std::string checkpoint;
};

// CheckResumable returns FailedPrecondition for a COMPLETED run and for one still RUNNING as a
// live process on this host (`host`); a RUNNING run whose process died can be resumed.
absl::Status CheckResumable(const RunInfo& info, const std::string& dir, const std::string& host);

// FindResumePoint reads the stages' <stage>_last.pt checkpoints of `run` in order and returns the
// first stage that is not complete, with the epochs its checkpoint completed. An unreadable
// checkpoint is an error naming it.
absl::StatusOr<ResumePoint> FindResumePoint(const ExperimentConfig& config,
                                            const RunDirectory& run);

// RewindRecord reads `run`'s metrics.csv and drops the rows (and stage summaries in `info`) of the
// epochs after `at`, which the resume redoes (`dropped`, when not null, receives how many: rows of
// epochs whose checkpoint was never saved). DataLoss naming the file when it cannot be parsed.
// info->duration_seconds (the earlier sessions' time) becomes at least the last kept row's
// elapsed_seconds: a session killed outright never recorded its own.
absl::StatusOr<MetricsTable> RewindRecord(const RunDirectory& run, const ExperimentConfig& config,
                                          const ResumePoint& at, RunInfo* info,
                                          int* dropped = nullptr);

}  // namespace malaria::experiments

#endif  // MALARIA_EXPERIMENTS_RESUME_POINT_H_
