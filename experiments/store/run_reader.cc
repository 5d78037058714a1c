#include "experiments/store/run_reader.h"

#include <algorithm>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "base/files.h"
#include "base/text_proto.h"
#include "experiments/config.h"

namespace malaria::experiments {
namespace {

namespace fs = std::filesystem;

bool IsRunDir(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p / "run_info.pbtxt", ec);
}

}  // namespace

absl::StatusOr<LoadedRun> LoadRun(const std::string& path) {
  if (!base::IsDirectory(path)) {
    return absl::NotFoundError(absl::StrCat("run directory ", path, " does not exist"));
  }
  LoadedRun run;
  run.dir = RunDirectory::Open(fs::path(path).lexically_normal().string());
  for (const char* required : {"run_info.pbtxt", "config.pbtxt"}) {
    if (!base::PathExists(run.dir.File(required))) {
      return absl::FailedPreconditionError(
          absl::StrCat(path, " is not a complete run directory: ", required, " is missing"));
    }
  }
  absl::StatusOr<RunInfo> info = ReadRunInfo(run.dir);
  if (!info.ok()) return info.status();
  run.info = *std::move(info);
  if (run.info.format_version() > kRunFormatVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " was written in run format ", run.info.format_version(),
                     "; this build reads up to ", kRunFormatVersion, " (update the platform)"));
  }
  absl::StatusOr<ExperimentConfig> config = LoadExperimentConfig(run.dir.File("config.pbtxt"));
  if (!config.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the config of ", path,
                     " does not fit this version's ExperimentConfig (written by "
                     "another version of the platform?): ",
                     config.status().message()));
  }
  run.config = *std::move(config);
  std::vector<std::string> stages;
  for (const auto& s : run.config.training().stage()) stages.push_back(s.name());
  if (absl::StatusOr<std::string> csv = base::ReadFile(run.dir.File("metrics.csv")); csv.ok()) {
    absl::StatusOr<MetricsTable> table = MetricsTable::FromCsv(*csv, stages);
    if (!table.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat(run.dir.File("metrics.csv"), ": ", table.status().message()));
    }
    run.table = *std::move(table);
  }
  if (absl::StatusOr<std::string> report = base::ReadFile(run.dir.File("metrics.pbtxt"));
      report.ok()) {
    run.has_final_report =
        base::ParseTextProto(*report, run.dir.File("metrics.pbtxt"), &run.final_report).ok();
  }
  const std::string calibrated = run.dir.File("calibrated/metrics.pbtxt");
  if (absl::StatusOr<std::string> report = base::ReadFile(calibrated); report.ok()) {
    run.has_calibrated_report =
        base::ParseTextProto(*report, calibrated, &run.calibrated_report).ok();
  }
  return run;
}

std::vector<std::string> FindRuns(const std::string& path) {
  std::vector<std::string> runs;
  const fs::path root(path);
  if (IsRunDir(root)) return {root.lexically_normal().string()};
  std::error_code ec;
  for (const auto& level1 : fs::directory_iterator(root, ec)) {
    if (!level1.is_directory(ec)) continue;
    if (IsRunDir(level1.path())) {
      runs.push_back(level1.path().lexically_normal().string());
      continue;
    }
    for (const auto& level2 : fs::directory_iterator(level1.path(), ec)) {
      if (level2.is_directory(ec) && IsRunDir(level2.path())) {
        runs.push_back(level2.path().lexically_normal().string());
      }
    }
  }
  std::sort(runs.begin(), runs.end());
  return runs;
}

absl::Status RequireNotRunning(const LoadedRun& run) {
  if (run.info.status() != RunInfo::RUNNING) return absl::OkStatus();
  const std::string here = HostName();
  if (run.info.host() == here && !ProcessAlive(run.info.pid())) {
    return absl::FailedPreconditionError(absl::StrCat(
        run.dir.path(), " is recorded RUNNING, but its process ", run.info.pid(), " on ", here,
        " is gone (killed, or the machine restarted): --resume ", run.dir.path(), " finishes it"));
  }
  return absl::FailedPreconditionError(absl::StrCat(
      run.dir.path(), " is still RUNNING (process ", run.info.pid(), " on ", run.info.host(),
      run.info.host() == here ? "" : ", another machine this one cannot check",
      "); wait for it to end, or --resume it if that process is gone"));
}

}  // namespace malaria::experiments
