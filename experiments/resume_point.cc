#include "experiments/resume_point.h"

#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/files.h"
#include "training/checkpoint.h"

namespace malaria::experiments {

absl::Status CheckResumable(const RunInfo& info, const std::string& dir, const std::string& host) {
  switch (info.status()) {
    case RunInfo::COMPLETED:
      return absl::FailedPreconditionError(
          absl::StrCat("--resume: ", dir, " is COMPLETED; there is nothing to resume"));
    case RunInfo::RUNNING:
      if (info.host() == host && ProcessAlive(info.pid())) {
        return absl::FailedPreconditionError(absl::StrCat(
            "--resume: ", dir, " is still RUNNING as process ", info.pid(), " on ", info.host()));
      }
      return absl::OkStatus();  // a run whose process died without recording it
    case RunInfo::FAILED:
      if (info.not_started()) {
        return absl::FailedPreconditionError(
            absl::StrCat("--resume: ", dir, " was refused before it started (", info.reason(),
                         "); there is nothing to resume: start it again"));
      }
      return absl::OkStatus();
    default:
      return absl::OkStatus();
  }
}

absl::StatusOr<ResumePoint> FindResumePoint(const ExperimentConfig& config,
                                            const RunDirectory& run) {
  ResumePoint point;
  const auto& stages = config.training().stage();
  for (int i = 0; i < stages.size(); ++i) {
    const std::string path =
        training::CheckpointPath(run.File("checkpoints"), stages[i].name(), "last");
    if (!base::PathExists(path)) return point;
    absl::StatusOr<training::CheckpointInfo> info = training::ReadCheckpointInfo(path);
    if (!info.ok()) return info.status();
    point = {i, info->progress.epochs_completed, path};
    if (info->progress.epochs_completed < stages[i].epochs()) return point;
    point = {i + 1, 0, ""};
  }
  return point;
}

absl::StatusOr<MetricsTable> RewindRecord(const RunDirectory& run, const ExperimentConfig& config,
                                          const ResumePoint& at, RunInfo* info, int* dropped) {
  std::vector<std::string> stage_names;
  for (const auto& s : config.training().stage()) stage_names.push_back(s.name());
  MetricsTable table;
  if (const absl::StatusOr<std::string> csv = base::ReadFile(run.File("metrics.csv")); csv.ok()) {
    absl::StatusOr<MetricsTable> parsed = MetricsTable::FromCsv(*csv, stage_names);
    if (!parsed.ok()) {
      return absl::DataLossError(
          absl::StrCat("--resume: ", run.File("metrics.csv"), ": ", parsed.status().message()));
    }
    table = *std::move(parsed);
  }
  // Epochs after the checkpoint are redone; their rows and summaries go.
  const size_t before = table.rows().size();
  table.TrimTo(at.stage, at.epochs_completed);
  if (dropped != nullptr) *dropped = static_cast<int>(before - table.rows().size());
  const int keep = std::min(info->stage_size(), at.stage + (at.epochs_completed > 0 ? 1 : 0));
  info->mutable_stage()->DeleteSubrange(keep, info->stage_size() - keep);
  for (int i = 0; i < info->stage_size(); ++i) table.Summarize(i, info->mutable_stage(i));
  // A session killed outright (SIGKILL, a machine gone) never recorded its duration: it counts up
  // to its last kept epoch, so the resumed rows' elapsed_seconds go on from there.
  if (!table.rows().empty()) {
    const double last = table.rows().back().elapsed_seconds;
    if (std::isfinite(last) && last > info->duration_seconds()) info->set_duration_seconds(last);
  }
  return table;
}

}  // namespace malaria::experiments
