#include "experiments/run_session.h"

#include <torch/version.h>
#include <unistd.h>

#include <ctime>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "base/cpu_peak.h"
#include "base/files.h"
#include "base/main.h"
#include "data/split.h"
#include "experiments/stages.h"
#include "glog/logging.h"
#include "training/distributed.h"

namespace malaria::experiments {
namespace {

bool IsPrimary(const training::Distributed* dist) { return dist == nullptr || dist->is_primary(); }

}  // namespace

absl::StatusOr<Prepared> Prepare(ExperimentConfig config, ResolvedData where,
                                 std::vector<std::string> warnings, training::Distributed* dist,
                                 std::FILE* out) {
  Prepared p;
  p.dist = dist;
  absl::StatusOr<Compute> compute = SetUpCompute(config, dist);
  if (!compute.ok()) return compute.status();
  p.compute = *std::move(compute);
  absl::StatusOr<RunData> data = LoadRunData(config, where, CoresPerProcess(dist), out);
  if (!data.ok()) return data.status();
  p.data = *std::move(data);
  absl::StatusOr<RunModel> model =
      BuildRunModel(config, static_cast<int>(p.data.classes.size()), out);
  if (!model.ok()) return model.status();
  p.model = *std::move(model);
  p.warnings = std::move(warnings);
  for (const auto* more : {&p.data.warnings, &p.model.warnings}) {
    p.warnings.insert(p.warnings.end(), more->begin(), more->end());
  }
  p.config = std::move(config);
  p.where = std::move(where);
  return p;
}

void PrintRunHeader(const Prepared& p, const RunDirectory& run, const RunInfo& info,
                    std::FILE* out) {
  absl::FPrintF(
      out,
      "Run %s\n  %d images (%s), %d training, %d validation; %s, %d threads, %s, LibTorch %s\n",
      run.path(), p.data.source->dataset().examples.size(), absl::StrJoin(p.data.classes, "/"),
      p.data.split.train.size(), p.data.split.valid.size(), p.compute.device.str(),
      p.compute.threads,
      p.compute.precision == training::FLOAT32
          ? "float32"
          : absl::AsciiStrToLower(
                absl::StrCat(training::Precision_Name(p.compute.precision), " autocast")),
      TORCH_VERSION);
  absl::FPrintF(out, "  model: %s, %.4f GFLOP per %d px image forward (x3 per image trained)\n",
                p.config.model().architecture(), p.model.forward_flops / 1e9,
                p.config.data().image_size());
  if (p.dist != nullptr) {
    absl::FPrintF(out, "  data-parallel: %d processes, %s for %s tensors\n", p.dist->world_size(),
                  p.dist->device_backend(), p.compute.device.is_cuda() ? "CUDA" : "CPU");
  }
  if (info.has_host_peak()) {
    const HostPeak& peak = info.host_peak();
    absl::FPrintF(out, "  host peak: %.0f GFLOP/s (%s, %d threads)%s\n", peak.fp32_gflops(),
                  peak.fp32_unit(), peak.threads(),
                  peak.has_bf16_gflops()
                      ? absl::StrFormat(", bfloat16 dot products %.0f", peak.bf16_gflops())
                      : "");
  }
}

void RecordHostPeak(const Prepared& p, RunInfo* info) {
  info->clear_host_peak();
  if (!p.compute.device.is_cpu()) return;
  const base::PeakLimits limits = base::MeasureLimits(p.compute.threads, /*seconds=*/0.2);
  HostPeak* peak = info->mutable_host_peak();
  peak->set_threads(p.compute.threads);
  peak->set_fp32_unit(limits.fp32_unit);
  peak->set_fp32_gflops(limits.fp32_gflops);
  if (limits.bf16_gflops > 0) peak->set_bf16_gflops(limits.bf16_gflops);
}

std::string AchievedRateText(const RunInfo& info, const StageSummary& stage) {
  if (!stage.has_achieved_gflops()) return "";
  std::string text = absl::StrFormat("%.0f GFLOP/s", stage.achieved_gflops());
  const HostPeak& peak = info.host_peak();
  const bool bf16 = info.precision() == "BFLOAT16";
  const double limit = bf16 ? peak.bf16_gflops() : peak.fp32_gflops();
  if (limit > 0) {
    absl::StrAppendFormat(&text, ", %.0f %% of the host's %s peak (%.0f)",
                          100 * stage.achieved_gflops() / limit,
                          bf16 ? "bfloat16 dot-product" : "float32 FMA", limit);
  }
  return text;
}

// Marks `info` as ended with `outcome` and records it (rank 0).
RunResult Finish(Prepared& p, const RunDirectory& run, RunInfo info, const absl::Status& outcome,
                 Clock::time_point started, std::FILE* out) {
  info.set_end_time(IsoTime(std::time(nullptr)));
  info.set_duration_seconds(info.duration_seconds() +
                            std::chrono::duration<double>(Clock::now() - started).count());
  if (outcome.ok()) {
    info.set_status(RunInfo::COMPLETED);
  } else if (absl::IsCancelled(outcome)) {
    info.set_status(RunInfo::INTERRUPTED);
    info.set_reason(std::string(outcome.message()));
  } else {
    info.set_status(RunInfo::FAILED);
    info.set_reason(outcome.ToString());
  }
  if (IsPrimary(p.dist)) {
    for (const StageSummary& stage : info.stage()) {
      const std::string rate = AchievedRateText(info, stage);
      if (!rate.empty()) absl::FPrintF(out, "Compute rate of stage %s: %s\n", stage.name(), rate);
    }
  }
  if (!IsPrimary(p.dist)) {
    absl::FPrintF(out, "\nrank %d: %s%s\n", p.dist->rank(), RunInfo::Status_Name(info.status()),
                  info.reason().empty() ? "" : ": " + info.reason());
  } else if (absl::Status s = WriteRunInfo(run, info); !s.ok()) {
    LOG(ERROR) << "cannot record the run's end (" << RunInfo::Status_Name(info.status())
               << "): " << s;
  }
  RunResult result;
  result.run_dir = run.path();
  result.info = std::move(info);
  result.config = std::move(p.config);
  return result;
}

// Trains from `resume` on and records how it ended. Whatever escapes training (LibTorch's errors
// included) ends the run as FAILED, recorded.
RunResult Execute(Prepared& p, const RunDirectory& run, RunInfo info, MetricsTable table,
                  const ResumePoint& resume, Clock::time_point started, std::FILE* out) {
  absl::Status trained;
  try {
    TrainingRun r;
    r.config = &p.config;
    r.run = &run;
    r.info = &info;
    r.table = &table;
    r.data = &p.data;
    r.model = p.model.model;
    r.started = started;
    r.learner = p.compute.learner;
    r.precision = p.compute.precision;
    r.callbacks = &p.compute.callbacks;
    r.dist = p.dist;
    r.out = out;
    trained = TrainStages(r, resume);
  } catch (const std::exception& e) {
    trained = absl::InternalError(base::ExceptionMessage(e));
  }
  return Finish(p, run, std::move(info), trained, started, out);
}

// Ranks other than 0 of a data-parallel job: train in the run directory rank 0 made (and published
// in the store), logging to logs/rank<R>.log; rank 0 records everything else.
absl::StatusOr<RunResult> JoinRun(Prepared& p, const std::string& dir, const ResumePoint& resume,
                                  Clock::time_point started) {
  const RunDirectory run = RunDirectory::Open(dir);
  const std::string log = run.File(absl::StrCat("logs/rank", p.dist->rank(), ".log"));
  std::FILE* out = std::fopen(log.c_str(), "a");
  if (out == nullptr) {
    return absl::PermissionDeniedError(
        absl::StrCat("rank ", p.dist->rank(), ": cannot write ", log));
  }
  absl::FPrintF(out, "rank %d of %d, pid %d, run %s\n", p.dist->rank(), p.dist->world_size(),
                ::getpid(), dir);
  // Rank 0's record (its stage summaries say, for one, whether a resumed stage's learning-rate
  // finder already ran), so every rank takes the same steps.
  absl::StatusOr<RunInfo> info = ReadRunInfo(run);
  if (!info.ok()) {
    std::fclose(out);
    return info.status();
  }
  RunResult result = Execute(p, run, *std::move(info), MetricsTable(), resume, started, out);
  std::fclose(out);
  return result;
}

// Rank 0 of a data-parallel job: the others may now join `run`.
absl::Status Publish(const Prepared& p, const RunDirectory& run) {
  if (p.dist == nullptr) return absl::OkStatus();
  if (absl::Status s = base::MakeDirs(run.File("logs")); !s.ok()) return s;
  return p.dist->SetKey("run_dir", run.path());
}

// The split's record: which images (and patients) are on each side.
absl::Status WriteSplit(const Prepared& p, const RunDirectory& run) {
  const data::Dataset& dataset = p.data.source->dataset();
  if (absl::Status s =
          run.WriteFile("split/train.txt", data::SplitListing(dataset, p.data.split.train));
      !s.ok()) {
    return s;
  }
  return run.WriteFile("split/valid.txt", data::SplitListing(dataset, p.data.split.valid));
}

// The record of a fresh run: the resolved config, run_info (RUNNING, with provenance and data),
// and the split.
absl::Status StartRecord(const Prepared& p, const RunDirectory& run, RunInfo* info) {
  if (absl::Status s = run.WriteProto("config.pbtxt", p.config); !s.ok()) return s;
  if (absl::Status s = WriteRunInfo(run, *info); !s.ok()) return s;
  if (absl::Status s = WriteSplit(p, run); !s.ok()) return s;
  return Publish(p, run);
}

}  // namespace malaria::experiments
