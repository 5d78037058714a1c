// The runner orchestrates named steps, each a tested function of its own file:
//   resolve data      run_data.h     ResolveData, ApplySyntheticFallback
//   compute           run_model.h    SetUpCompute (threads, device, learner options)
//   load and split    run_data.h     LoadRunData
//   build model       run_model.h    BuildRunModel (with torchvision weights)
//   record the start  run_session.h  StartRecord (config, run_info, split), Finish on failure
//   each stage        stages.h       TrainStages (finder, learning rates, epochs, evaluations)
//   final evaluation  stages.h       (inside TrainStages, rank 0)
//   resume            resume_point.h CheckResumable, FindResumePoint, RewindRecord
#include "experiments/runner.h"

#include <torch/version.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "base/files.h"
#include "base/main.h"
#include "data/dataset.h"
#include "data/split.h"
#include "experiments/config.h"
#include "experiments/resume_point.h"
#include "experiments/run_data.h"
#include "experiments/run_model.h"
#include "experiments/run_session.h"
#include "experiments/stages.h"
#include "experiments/store/metrics_table.h"
#include "experiments/store/runs_root.h"
#include "experiments/store/tracker.h"
#include "glog/logging.h"
#include "training/distributed.h"

namespace malaria::experiments {
namespace {

bool IsPrimary(const training::Distributed* dist) { return dist == nullptr || dist->is_primary(); }

// The run's data folder, for a resumed run: the one it recorded (the synthetic default is made
// again if it went).
absl::StatusOr<ResolvedData> ResolveRecordedData(const ExperimentConfig& config,
                                                 const RunInfo& info) {
  ResolvedData where;
  where.path = config.data().path();
  where.kind = info.dataset().kind();
  where.source = "the run's config";
  if (base::IsDirectory(where.path)) return where;
  if (where.kind != DatasetInfo::SYNTHETIC) {
    return absl::NotFoundError(
        absl::StrCat("--resume: the run's data folder ", where.path, " does not exist any more"));
  }
  absl::StatusOr<std::string> made = data::EnsureSyntheticDataset(
      std::filesystem::path(where.path).parent_path().string(), SyntheticOptionsOf(config));
  if (!made.ok()) return made.status();
  if (*made != where.path) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--resume: the synthetic dataset would be made in ", *made, ", not ", where.path));
  }
  return where;
}

// The record of a fresh run of `options` in `run`, its provenance filled: paths relative to a
// Bazel workspace (absolute outside one), so the record reads the same from any folder, and the
// commit of the run's workspace (else of the one the program was built from).
RunInfo NewRunInfo(const RunOptions& options, const std::string& workspace,
                   const std::string& experiment, const RunDirectory& run, std::time_t start) {
  RunInfo info;
  info.set_experiment(experiment);
  info.set_run_id(run.id());
  info.set_start_time(IsoTime(start));
  const std::string root =
      base::PathExists(base::JoinPath(workspace, "WORKSPACE")) ? workspace : "";
  info.set_workspace(std::filesystem::absolute(workspace).lexically_normal().string());
  info.set_config_file(RecordedPath(options.config_path, root));
  for (const std::string& o : options.overrides) info.add_overrides(o);
  for (const std::string& a : options.command_line) info.add_command_line(RecordedPath(a, root));
  const Provenance provenance = GatherProvenance(root.empty() ? base::BinaryWorkspace() : root);
  info.set_git_commit(provenance.git_commit);
  info.set_git_dirty(provenance.git_dirty);
  info.set_host(provenance.host);
  info.set_user(provenance.user);
  info.set_pid(::getpid());
  if (!options.sweep_trial.sweep().empty()) *info.mutable_sweep() = options.sweep_trial;
  return info;
}

// A fresh run: config from its file and overrides.
absl::StatusOr<RunResult> StartRun(const RunOptions& options, const std::string& workspace) {
  const auto started = Clock::now();
  const std::time_t start_time = std::time(nullptr);
  std::FILE* out = options.out;

  absl::StatusOr<ExperimentConfig> loaded = LoadExperimentConfig(options.config_path);
  if (!loaded.ok()) return loaded.status();
  ExperimentConfig config = *std::move(loaded);
  for (const std::string& o : options.overrides) {
    if (absl::Status s = ApplyOverride(o, &config); !s.ok()) return s;
  }
  FillDefaults(&config);
  if (absl::Status s = ValidateExperimentConfig(config); !s.ok()) return s;

  // Rank 0 finds (or makes) the data first, so processes on one machine never make it together.
  training::Distributed* dist = options.distributed;
  if (!IsPrimary(dist)) {
    if (absl::Status s = dist->Barrier("waiting for rank 0 to find the data"); !s.ok()) return s;
  }
  absl::StatusOr<ResolvedData> where = ResolveData(config, workspace);
  if (!where.ok()) return where.status();
  if (dist != nullptr && dist->is_primary()) {
    if (absl::Status s = dist->Barrier("waiting for the other ranks"); !s.ok()) return s;
  }
  std::vector<std::string> warnings;
  ApplySyntheticFallback(*where, &config, &warnings, out);
  config.mutable_data()->set_path(where->path);
  if (!config.data().exclude().empty()) {
    config.mutable_data()->set_exclude(
        std::filesystem::path(base::JoinPath(workspace, config.data().exclude()))
            .lexically_normal()
            .string());
  }
  if (!config.model().pretrained_weights().empty()) {
    config.mutable_model()->set_pretrained_weights(
        std::filesystem::path(base::JoinPath(workspace, config.model().pretrained_weights()))
            .lexically_normal()
            .string());
  }
  const std::string runs_root = TrackerRoot(options.runs_dir, config.tracker().root(), workspace);
  config.mutable_tracker()->set_root(runs_root);

  absl::StatusOr<Prepared> prepared =
      Prepare(std::move(config), *std::move(where), std::move(warnings), dist, out);
  if (!prepared.ok()) return prepared.status();
  Prepared& p = *prepared;
  if (!IsPrimary(dist)) {
    absl::StatusOr<std::string> dir = dist->GetKey("run_dir");
    if (!dir.ok()) return dir.status();
    return JoinRun(p, *dir, ResumePoint(), started);
  }

  // The run directory: from here on, everything is recorded, failures included.
  absl::StatusOr<RunDirectory> run = RunDirectory::Create(runs_root, p.config.name());
  if (!run.ok()) return run.status();
  RunInfo info = NewRunInfo(options, workspace, p.config.name(), *run, start_time);
  info.set_status(RunInfo::RUNNING);
  info.set_libtorch_version(TORCH_VERSION);
  info.set_device(p.compute.device.str());
  info.set_threads(p.compute.threads);
  info.set_precision(training::Precision_Name(p.compute.precision));
  RecordHostPeak(p, &info);
  info.set_world_size(dist != nullptr ? dist->world_size() : 1);
  DescribeData(p.where, p.data, &info);
  for (const std::string& w : p.warnings) info.add_warnings(w);
  info.set_pretrained_weights(p.model.weights_note);
  info.set_forward_gflop(p.model.forward_flops / 1e9);
  if (absl::Status s = StartRecord(p, *run, &info); !s.ok()) {
    // The directory exists: the run is recorded as FAILED with the reason, never left RUNNING.
    return Finish(p, *run, std::move(info), s, started, out);
  }
  PrintRunHeader(p, *run, info, out);
  return Execute(p, *run, std::move(info), MetricsTable(), ResumePoint(), started, out);
}

// A run resumed on a machine that resolves training.precision differently (BFLOAT16_WHERE_AVAILABLE
// on a host with or without bfloat16 units) trains its remaining epochs, and is evaluated and
// calibrated, in the new arithmetic: run_info records that one, with a warning naming both.
// Returns the warning, or "" when the precision is the one recorded.
std::string RecordResumedPrecision(training::Precision now, const std::string& host,
                                   RunInfo* info) {
  const std::string name = training::Precision_Name(now);
  if (!info->has_precision() || info->precision() == name) {
    info->set_precision(name);
    return "";
  }
  const std::string warning = absl::StrCat(
      "resumed on ", host, " in ", name, " after training in ", info->precision(),
      " (BFLOAT16_WHERE_AVAILABLE follows the host's bfloat16 units): its remaining epochs, "
      "evaluation and calibration are in ",
      name);
  info->set_precision(name);
  info->add_warnings(warning);
  return warning;
}

// A resumed run: config, data and progress from its directory.
absl::StatusOr<RunResult> ResumeRun(const RunOptions& options, const std::string& workspace) {
  const auto started = Clock::now();
  std::FILE* out = options.out;
  if (!options.overrides.empty()) {
    return absl::InvalidArgumentError(
        "--resume continues a run as it was configured; it takes no --set overrides");
  }
  // Without a trailing '/': the run's folder is its parent (its experiment's), and its name its id.
  std::string dir = base::ResolveUserPath(options.resume_dir);
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  // The other ranks read the run once rank 0 has checked it and recorded the resume.
  training::Distributed* dist = options.distributed;
  const bool primary = IsPrimary(dist);
  if (!primary) {
    absl::StatusOr<std::string> published = dist->GetKey("run_dir");
    if (!published.ok()) return published.status();
    if (*published != dir) {
      return absl::InvalidArgumentError(absl::StrCat("rank ", dist->rank(), ": --resume ", dir,
                                                     " is not the run rank 0 resumes"));
    }
  }
  if (!base::IsDirectory(dir)) {
    return absl::NotFoundError(absl::StrCat("--resume: run directory ", dir, " does not exist"));
  }
  const RunDirectory run = RunDirectory::Open(dir);
  absl::StatusOr<RunInfo> read = ReadRunInfo(run);
  if (!read.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--resume: ", dir,
        " is not a run directory (no readable run_info.pbtxt): ", read.status().message()));
  }
  RunInfo info = *std::move(read);
  const Provenance here = GatherProvenance(workspace);
  if (primary) {
    if (absl::Status s = CheckResumable(info, dir, here.host); !s.ok()) return s;
  }
  absl::StatusOr<ExperimentConfig> config = LoadExperimentConfig(run.File("config.pbtxt"));
  if (!config.ok()) return config.status();
  if (!options.config_path.empty()) {
    // Through an experiment target: the run must be one of its config file's (a run started with
    // `--set name=X` keeps its target), or bear its experiment's name (a copy of the config).
    absl::StatusOr<ExperimentConfig> target = LoadExperimentConfig(options.config_path);
    const std::string target_file = RecordedPath(options.config_path, info.workspace());
    if (target.ok() && info.config_file() != target_file && target->name() != config->name()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--resume: ", dir, " is a run of ", config->name(), " (", info.config_file(),
                       "), not of ", target->name(), " (", target_file, ")"));
    }
  }
  if (absl::Status s = ValidateExperimentConfig(*config); !s.ok()) return s;
  absl::StatusOr<ResolvedData> where = ResolveRecordedData(*config, info);
  if (!where.ok()) return where.status();
  absl::StatusOr<Prepared> prepared = Prepare(*std::move(config), *where, {}, dist, out);
  if (!prepared.ok()) return prepared.status();
  Prepared& p = *prepared;

  // The same data and the same split, or the resumed run would not be the same run.
  const std::string fingerprint = data::Fingerprint(p.data.source->dataset());
  if (fingerprint != info.dataset().fingerprint()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--resume: the data in ", where->path, " changed since the run started (fingerprint ",
        info.dataset().fingerprint(), ", now ", fingerprint, ")"));
  }
  absl::StatusOr<ResumePoint> resume = FindResumePoint(p.config, run);
  if (!resume.ok()) return resume.status();
  const std::string listing = run.File("split/train.txt");
  const absl::StatusOr<std::string> train_listing = base::ReadFile(listing);
  const bool nothing_trained = resume->stage == 0 && resume->epochs_completed == 0;
  if (train_listing.ok()
          ? *train_listing != data::SplitListing(p.data.source->dataset(), p.data.split.train)
          : !(absl::IsNotFound(train_listing.status()) && nothing_trained)) {
    return absl::FailedPreconditionError(
        absl::StrCat("--resume: the split no longer matches ", listing));
  }
  if (!primary) return JoinRun(p, dir, *resume, started);
  // Temporary files of writes a killed process never finished (the run is not running).
  if (const int swept = base::RemoveTemporaryFiles(dir); swept > 0) {
    absl::FPrintF(out, "Removed %d unfinished temporary file(s) of the interrupted run\n", swept);
  }
  int redone = 0;
  absl::StatusOr<MetricsTable> table = RewindRecord(run, p.config, *resume, &info, &redone);
  if (!table.ok()) return table.status();

  info.set_status(RunInfo::RUNNING);
  info.clear_reason();
  info.clear_end_time();
  info.set_pid(::getpid());
  info.set_host(here.host);
  info.add_resumed_at(IsoTime(std::time(nullptr)));
  info.set_world_size(dist != nullptr ? dist->world_size() : 1);
  const std::string warning = RecordResumedPrecision(p.compute.precision, here.host, &info);
  RecordHostPeak(p, &info);  // this host's, now
  absl::Status reopened = WriteRunInfo(run, info);
  // A run that failed before its split was recorded (a full disk, say) records it now.
  if (reopened.ok() && !train_listing.ok()) reopened = WriteSplit(p, run);
  if (reopened.ok()) reopened = run.WriteFile("metrics.csv", table->ToCsv());
  if (reopened.ok()) reopened = Publish(p, run);
  if (!reopened.ok()) return Finish(p, run, std::move(info), reopened, started, out);
  PrintRunHeader(p, run, info, out);
  if (!warning.empty()) {
    LOG(WARNING) << warning;
    absl::FPrintF(out, "\nWARNING: %s\n", warning);
  }
  if (redone > 0) {
    absl::FPrintF(out,
                  "The record held %d epoch(s) after the last checkpoint (the run stopped before "
                  "saving it): they are redone\n",
                  redone);
  }
  if (resume->stage < p.config.training().stage_size()) {
    absl::FPrintF(out, "Resuming %s after %d completed epoch(s) of stage %s\n", dir,
                  resume->epochs_completed, p.config.training().stage(resume->stage).name());
  } else {
    absl::FPrintF(out, "Every epoch of %s was done; finishing its evaluation\n", dir);
  }
  return Execute(p, run, std::move(info), *std::move(table), *resume, started, out);
}

}  // namespace

std::string RecordedPath(const std::string& path, const std::string& workspace) {
  // A source file that Bazel's runfiles hold: the workspace file it stands for.
  const std::string kRunfiles = ".runfiles/malaria/";
  if (const size_t at = path.find(kRunfiles); at != std::string::npos) {
    return path.substr(at + kRunfiles.size());
  }
  if (path.empty() || absl::StartsWith(path, "-") ||
      !base::PathExists(base::ResolveUserPath(path))) {
    return path;
  }
  const std::filesystem::path absolute(base::ResolveUserPath(path));
  if (!workspace.empty()) {
    const std::filesystem::path relative = absolute.lexically_relative(workspace);
    if (!relative.empty() && *relative.begin() != "..") return relative.string();
  }
  return absolute.string();
}

std::string RunWorkspace(const RunOptions& options) {
  if (!options.workspace.empty()) return options.workspace;
  if (const char* w = std::getenv("BUILD_WORKSPACE_DIRECTORY"); w != nullptr && *w != '\0') {
    return w;
  }
  if (!options.resume_dir.empty()) {
    // A resumed run: the workspace it recorded, wherever it is resumed from.
    const RunDirectory run = RunDirectory::Open(base::ResolveUserPath(options.resume_dir));
    if (absl::StatusOr<RunInfo> info = ReadRunInfo(run);
        info.ok() && !info->workspace().empty() && base::IsDirectory(info->workspace())) {
      return info->workspace();
    }
  }
  if (!options.config_path.empty()) {
    const std::string found = base::FindWorkspace(base::ResolveUserPath(options.config_path));
    if (!found.empty()) return found;
  }
  return base::WorkspaceDir();
}

absl::StatusOr<RunResult> RunExperiment(const RunOptions& options) {
  const std::string workspace = RunWorkspace(options);
  if (!options.resume_dir.empty()) return ResumeRun(options, workspace);
  return StartRun(options, workspace);
}

absl::StatusOr<std::string> RecordRefusedRun(const RunOptions& options,
                                             const ExperimentConfig& config,
                                             const absl::Status& refusal) {
  const std::string workspace = RunWorkspace(options);
  const std::time_t now = std::time(nullptr);
  absl::StatusOr<RunDirectory> run = RunDirectory::Create(
      TrackerRoot(options.runs_dir, config.tracker().root(), workspace), config.name(), now);
  if (!run.ok()) return run.status();
  RunInfo info = NewRunInfo(options, workspace, config.name(), *run, now);
  info.set_status(RunInfo::FAILED);
  info.set_not_started(true);
  info.set_reason(absl::StrCat("refused before it started: ", refusal.message()));
  info.set_end_time(IsoTime(now));
  // The config first: a run directory is read once its run_info exists.
  if (absl::Status w = run->WriteFile("config.pbtxt", ToText(config)); !w.ok()) return w;
  if (absl::Status w = WriteRunInfo(*run, info); !w.ok()) return w;
  return run->path();
}

}  // namespace malaria::experiments
