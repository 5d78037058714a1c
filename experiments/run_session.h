// A run's session, what starting and resuming share: everything that can be checked before a run
// directory is made or reopened (Prepare), the record of a fresh run's start, training and the
// record of how it ended (Execute, Finish), and the other ranks of a data-parallel job joining it.
//
//   absl::StatusOr<Prepared> p = Prepare(config, where, warnings, dist, stdout);
//   if (absl::Status s = StartRecord(*p, run, &info); !s.ok()) return Finish(*p, run, info, s,
//   ...); RunResult result = Execute(*p, run, info, MetricsTable(), ResumePoint(), started,
//   stdout);
#ifndef MALARIA_EXPERIMENTS_RUN_SESSION_H_
#define MALARIA_EXPERIMENTS_RUN_SESSION_H_

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "experiments/experiment.pb.h"
#include "experiments/resume_point.h"
#include "experiments/run_data.h"
#include "experiments/run_model.h"
#include "experiments/runner.h"
#include "experiments/store/metrics_table.h"
#include "experiments/store/run_info.pb.h"
#include "experiments/store/tracker.h"

namespace malaria::experiments {

using Clock = std::chrono::steady_clock;

// Everything a run needs that can be checked before its directory is made (or reopened).
struct Prepared {
  ExperimentConfig config;
  ResolvedData where;
  RunData data;
  Compute compute;
  RunModel model;
  std::vector<std::string> warnings;
  training::Distributed* dist = nullptr;
};

// Prepare sets up compute (SetUpCompute), loads and splits the data (LoadRunData) and builds the
// model (BuildRunModel) for `config`. Errors are those steps', naming the field or file.
absl::StatusOr<Prepared> Prepare(ExperimentConfig config, ResolvedData where,
                                 std::vector<std::string> warnings, training::Distributed* dist,
                                 std::FILE* out);

// PrintRunHeader shows the run directory, the data, the device and the processes, and the host's
// peak where `info` has it.
void PrintRunHeader(const Prepared& p, const RunDirectory& run, const RunInfo& info,
                    std::FILE* out);

// Records the host's arithmetic limit on the run's threads in `info` (base/cpu_peak.h, a fifth of
// a second per vector unit) for a CPU run, when it starts or resumes; clears it otherwise.
void RecordHostPeak(const Prepared& p, RunInfo* info);

// "1,234 GFLOP/s, 45 % of the host's float32 FMA peak" for a stage's achieved_gflops against the
// peak of the arithmetic the run trained in (its bfloat16 dot-product peak for BFLOAT16); "" when
// the run has no rate or no peak.
std::string AchievedRateText(const RunInfo& info, const StageSummary& stage);

// StartRecord writes a fresh run's record: config.pbtxt (resolved), run_info.pbtxt (RUNNING) and
// the split's listings, then publishes the directory to the other ranks. An error leaves the run
// for the caller to Finish as FAILED.
absl::Status StartRecord(const Prepared& p, const RunDirectory& run, RunInfo* info);

// WriteSplit writes split/train.txt and split/valid.txt: the images (and patients) of each side.
absl::Status WriteSplit(const Prepared& p, const RunDirectory& run);

// Publish lets the other ranks of a data-parallel job join `run` (rank 0; nothing otherwise).
absl::Status Publish(const Prepared& p, const RunDirectory& run);

// Finish marks `info` as ended by `outcome` (OK: COMPLETED; Cancelled: INTERRUPTED; otherwise
// FAILED with the reason), adds the time spent since `started` and records it (rank 0).
RunResult Finish(Prepared& p, const RunDirectory& run, RunInfo info, const absl::Status& outcome,
                 Clock::time_point started, std::FILE* out);

// Execute trains from `resume` on (TrainStages) and Finishes the run with the outcome; anything
// that escapes training, LibTorch's errors included, ends it as FAILED, recorded.
RunResult Execute(Prepared& p, const RunDirectory& run, RunInfo info, MetricsTable table,
                  const ResumePoint& resume, Clock::time_point started, std::FILE* out);

// JoinRun: a rank other than 0 trains in the run directory rank 0 made, logging to
// logs/rank<R>.log; rank 0 records everything else.
absl::StatusOr<RunResult> JoinRun(Prepared& p, const std::string& dir, const ResumePoint& resume,
                                  Clock::time_point started);

}  // namespace malaria::experiments

#endif  // MALARIA_EXPERIMENTS_RUN_SESSION_H_
