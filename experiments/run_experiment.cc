// Runs an experiment config. Each experiment target (`bazel run //experiments:<name>`) calls this
// with its config; extra arguments after `--` are passed on:
//
//   bazel run //experiments:resnet34_two_stage -- --set data.image_size=64
//       --set data.path=../shared/data/nih_malaria_50px/cell_images
//
// Flags:
//   --config FILE       the experiment config (text-format ExperimentConfig)
//   --set PATH=VALUE    override one config field; repeatable; recorded in the run
//   --runs_dir DIR      tracker root (default $MALARIA_RUNS_DIR, the config's, or <workspace>/runs)
//   --resume RUN_DIR    continue an interrupted or failed run after its last completed epoch
//   --all_folds         every fold of a patient_kfold config in turn, then their aggregate;
//                       with --resume, the run given; if it was one fold of such a job, the
//                       job's folds not yet started follow; then the aggregate
//   --nproc_per_node N  data-parallel training in N processes on this machine (with NNODES,
//                       NODE_RANK, MASTER_ADDR and MASTER_PORT set, on several machines); see
//                       experiments/launcher.h. Started with torchrun's variables instead
//                       (WORLD_SIZE > 1), this process is one rank of such a job; so is each
//                       task of an srun step of several (`srun -n 4 run_experiment --config C`,
//                       training/slurm_env.h).
//
// Environment: MALARIA_DIST_TIMEOUT_S (default 300), how long a data-parallel exchange may wait
// before the run fails.
//
// Exit status (base/main.h): 0 completed, 1 failed (recorded in the run), 2 nothing started (bad
// flag, config or data; the message says what and where), 130 interrupted (recorded in the run).
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/files.h"
#include "base/flags.h"
#include "base/interrupt.h"
#include "base/main.h"
#include "experiments/config.h"
#include "experiments/launcher.h"
#include "experiments/runner.h"
#include "experiments/store/kfold.h"
#include "experiments/store/out_of_fold.h"
#include "experiments/store/run_info.pb.h"
#include "experiments/store/run_reader.h"
#include "training/distributed.h"

namespace malaria::experiments {
namespace {

// Prints the k-fold aggregate of `experiment`'s runs in `folder` (missing folds named).
void PrintKFoldAggregate(const std::string& folder, const std::string& experiment) {
  std::vector<LoadedRun> runs;
  for (const std::string& dir : FindRuns(folder)) {
    absl::StatusOr<LoadedRun> run = LoadRun(dir);
    if (run.ok()) runs.push_back(*std::move(run));
  }
  std::vector<KFoldSummary> summaries;
  for (KFoldSummary& s : SummarizeKFolds(runs)) {
    if (s.experiment == experiment) summaries.push_back(std::move(s));
  }
  // Every fold's predictions pooled, judged with intervals by patient, and kept with their rules.
  AddOutOfFold(&summaries, runs);
  for (KFoldSummary& s : summaries) {
    absl::FPrintF(stdout, "\n%s", KFoldText(s));
    if (!s.pooled) continue;
    absl::StatusOr<std::string> kept = KeepOutOfFold(&s, folder);
    if (kept.ok()) {
      absl::FPrintF(stdout, "%s", *kept);
    } else {
      absl::FPrintF(stderr, "the pooled out-of-fold predictions could not be written: %s\n",
                    kept.status().message());
    }
  }
}

// Whether `overrides` pick the split themselves (then --all_folds runs that one split).
bool NamesOneFold(const std::vector<std::string>& overrides) {
  for (const std::string& o : overrides) {
    if (absl::StartsWith(o, "data.split.patient_kfold.fold=") ||
        absl::StartsWith(o, "data.split=")) {
      return true;
    }
  }
  return false;
}

// Runs `folds` of a `k`-fold experiment in turn (options.overrides plus each fold), stopping at
// the first that does not complete. *folder: the experiment folder they were written to.
absl::StatusOr<int> RunFolds(const RunOptions& options, const std::vector<int>& folds, int k,
                             std::string* folder) {
  for (int fold : folds) {
    RunOptions one = options;
    one.overrides.push_back(absl::StrCat("data.split.patient_kfold.fold=", fold));
    absl::FPrintF(stdout, "\n===== fold %d of %d =====\n", fold, k);
    const absl::StatusOr<RunResult> result = RunExperiment(one);
    if (!result.ok()) return result.status();
    *folder = std::filesystem::path(result->run_dir).parent_path().string();
    if (const int status = ReportEnd(*result, true, stdout, stderr); status != base::kExitOk) {
      absl::FPrintF(stderr, "fold %d did not complete; the folds after it were not run\n", fold);
      return status;
    }
  }
  return base::kExitOk;
}

// Runs every fold of a patient k-fold experiment in turn (the config's data.split.patient_kfold,
// its fold overridden; a fold named with --set runs alone), then prints the folds' aggregate from
// the tracker folder.
absl::StatusOr<int> RunAllFolds(const RunOptions& options) {
  absl::StatusOr<ExperimentConfig> config = LoadExperimentConfig(options.config_path);
  if (!config.ok()) return config.status();
  for (const std::string& o : options.overrides) {
    if (absl::Status s = ApplyOverride(o, &*config); !s.ok()) return s;
  }
  if (!config->data().split().has_patient_kfold()) {
    return absl::InvalidArgumentError(
        "--all_folds: data.split is not patient_kfold { folds: K } (nothing to run fold by fold)");
  }
  std::string folder;
  if (NamesOneFold(options.overrides)) {
    const absl::StatusOr<RunResult> result = RunExperiment(options);
    if (!result.ok()) return result.status();
    if (const int status = ReportEnd(*result, true, stdout, stderr); status != base::kExitOk) {
      return status;
    }
    folder = std::filesystem::path(result->run_dir).parent_path().string();
  } else {
    const int k = config->data().split().patient_kfold().folds();
    std::vector<int> folds(k);
    for (int f = 0; f < k; ++f) folds[f] = f;
    absl::StatusOr<int> status = RunFolds(options, folds, k, &folder);
    if (!status.ok() || *status != base::kExitOk) return status;
  }
  PrintKFoldAggregate(folder, config->name());
  return base::kExitOk;
}

// What a rank checks before it joins a data-parallel job: the config (read, overridden,
// validated) of a fresh run, or that the run directory to resume is one.
absl::Status CheckBeforeJoining(const RunOptions& options) {
  if (!options.resume_dir.empty()) {
    const std::string dir = base::ResolveUserPath(options.resume_dir);
    if (!base::PathExists(base::JoinPath(dir, "run_info.pbtxt"))) {
      return absl::NotFoundError(
          absl::StrCat("--resume: ", dir, " is not a run directory (no run_info.pbtxt)"));
    }
    return absl::OkStatus();
  }
  absl::StatusOr<ExperimentConfig> config = LoadExperimentConfig(options.config_path);
  if (!config.ok()) return config.status();
  for (const std::string& o : options.overrides) {
    if (absl::Status s = ApplyOverride(o, &*config); !s.ok()) return s;
  }
  FillDefaults(&*config);
  return ValidateExperimentConfig(*config);
}

// The flags a run_experiment command line was given.
struct Invocation {
  RunOptions options;
  bool all_folds = false;
  int nproc = 1;
};

void DefineFlags(base::FlagParser& flags, Invocation& in) {
  flags.String("config", &in.options.config_path,
               "the experiment config (text-format ExperimentConfig)");
  flags.Strings("set", &in.options.overrides, "override one config field, recorded in the run");
  flags.String("runs_dir", &in.options.runs_dir,
               "tracker root (default $MALARIA_RUNS_DIR, the config's, or <workspace>/runs)");
  flags.String("resume", &in.options.resume_dir,
               "continue an interrupted or failed run after its last completed epoch");
  flags.Int("nproc_per_node", &in.nproc, "data-parallel processes on this machine");
  flags.Bool("all_folds", &in.all_folds,
             "every fold of a patient k-fold config, then their aggregate (with --resume: the "
             "run's fold, then the folds its --all_folds job had not started)");
}

// The invocation a run records in run_info.command_line, parsed again.
absl::StatusOr<Invocation> RecordedInvocation(const RunInfo& info) {
  std::vector<std::string> args(info.command_line().begin(), info.command_line().end());
  if (args.empty()) return absl::NotFoundError("no command line recorded");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  Invocation in;
  base::FlagParser flags("run_experiment");
  DefineFlags(flags, in);
  absl::StatusOr<bool> parsed = flags.Parse(static_cast<int>(argv.size()), argv.data());
  if (!parsed.ok()) return parsed.status();
  return in;
}

// After a resumed fold of an --all_folds job completed, the job goes on: each of the experiment's
// folds without a run in the resumed run's folder is run as the job ran its folds (its overrides,
// into the same tracker root); a fold with only unfinished runs is left to --resume, and named.
absl::StatusOr<int> RunRemainingFolds(const RunOptions& job, const RunResult& resumed) {
  const std::filesystem::path folder = std::filesystem::path(resumed.run_dir).parent_path();
  const int k = resumed.config.data().split().patient_kfold().folds();
  std::vector<bool> started(k, false), completed(k, false);
  std::vector<std::string> unfinished(k);
  for (const std::string& dir : FindRuns(folder.string())) {
    absl::StatusOr<LoadedRun> run = LoadRun(dir);
    if (!run.ok() || run->config.name() != resumed.config.name() ||
        !run->config.data().split().has_patient_kfold()) {
      continue;
    }
    const int fold = run->config.data().split().patient_kfold().fold();
    if (fold < 0 || fold >= k) continue;
    started[fold] = true;
    if (run->info.status() == RunInfo::COMPLETED) completed[fold] = true;
    if (run->info.status() != RunInfo::COMPLETED && unfinished[fold].empty())
      unfinished[fold] = dir;
  }
  std::vector<int> to_run;
  for (int fold = 0; fold < k; ++fold) {
    if (!started[fold]) {
      to_run.push_back(fold);
    } else if (!completed[fold]) {
      absl::FPrintF(stdout, "fold %d has an unfinished run, not started again: --resume %s\n", fold,
                    unfinished[fold]);
    }
  }
  RunOptions options = job;
  options.resume_dir.clear();
  options.runs_dir = folder.parent_path().string();
  std::string written;
  return RunFolds(options, to_run, k, &written);
}

// --all_folds --resume RUN_DIR (how an experiment target with all_folds resumes a fold cut off):
// that run continues; if it was one fold of an --all_folds job, the job's folds not yet started
// follow; then the experiment folder's aggregate says which folds are done.
absl::StatusOr<int> ResumeFold(const RunOptions& options) {
  const absl::StatusOr<RunResult> result = RunExperiment(options);
  if (!result.ok()) return result.status();
  const int status = ReportEnd(*result, true, stdout, stderr);
  if (status != base::kExitOk) return status;
  if (!result->config.data().split().has_patient_kfold()) return status;
  const absl::StatusOr<Invocation> job = RecordedInvocation(result->info);
  if (!job.ok()) {
    absl::FPrintF(stderr,
                  "the run's recorded command line could not be read again (%s): whether it was "
                  "one fold of an --all_folds job is unknown, so no other fold is started\n",
                  job.status().message());
  } else if (job->all_folds && !NamesOneFold(job->options.overrides)) {
    RunOptions rest = options;
    rest.overrides = job->options.overrides;
    if (rest.workspace.empty()) rest.workspace = result->info.workspace();
    if (rest.config_path.empty()) {
      // Recorded relative to the run's workspace (absolute outside one): the same file from any
      // folder.
      rest.config_path = base::JoinPath(result->info.workspace(), job->options.config_path);
    }
    const absl::StatusOr<int> s = RunRemainingFolds(rest, *result);
    if (!s.ok() || *s != base::kExitOk) return s;
  }
  PrintKFoldAggregate(std::filesystem::path(result->run_dir).parent_path().string(),
                      result->config.name());
  return status;
}

absl::StatusOr<int> Main(int argc, char** argv) {
  Invocation in;
  RunOptions& options = in.options;
  for (int i = 0; i < argc; ++i) options.command_line.push_back(argv[i]);
  base::FlagParser flags(
      "run_experiment --config FILE [--set field.path=value]... [--runs_dir DIR]\n"
      "       run_experiment [--config FILE] --resume RUN_DIR",
      "Runs (or resumes) an experiment config; with --nproc_per_node N, data-parallel in N\n"
      "processes. --set examples: data.image_size=64  training.stage[0].epochs=2\n"
      "  data.path=/data/cell_images  training.stage[1].lr={slice {start: 1e-6 stop: 1e-5}}");
  DefineFlags(flags, in);
  absl::StatusOr<bool> go = flags.Parse(argc, argv);
  if (!go.ok()) return go.status();
  if (!*go) return base::kExitOk;
  const int nproc = in.nproc;
  if (nproc < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--nproc_per_node: '", nproc, "' is not a positive number\n", flags.Usage()));
  }
  if (options.config_path.empty() && options.resume_dir.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("--config is required\n", flags.Usage()));
  }
  // A worker (started by a launcher or torchrun: RANK and WORLD_SIZE set; or one task of an srun
  // step of several, training/slurm_env.h) never launches others.
  const char* slurm_tasks = std::getenv("SLURM_STEP_NUM_TASKS");
  const bool worker = (std::getenv("RANK") != nullptr && std::getenv("WORLD_SIZE") != nullptr) ||
                      (slurm_tasks != nullptr && std::atoi(slurm_tasks) > 1);
  if (!worker && (nproc > 1 || std::getenv("NNODES") != nullptr)) {
    return LaunchWorkers(nproc, "/proc/self/exe", flags.ArgumentsWithout("nproc_per_node"));
  }

  // One rank of a data-parallel job, when started with torchrun's variables.
  const absl::StatusOr<training::DistributedEnv> env = training::DistributedEnvFromEnvironment();
  if (!env.ok()) return env.status();
  std::unique_ptr<training::Distributed> dist;
  if (env->world_size > 1) {
    int timeout_s = 300;
    if (const char* t = std::getenv("MALARIA_DIST_TIMEOUT_S"); t != nullptr) {
      if (!absl::SimpleAtoi(t, &timeout_s) || timeout_s < 1) {
        return absl::InvalidArgumentError(
            absl::StrCat("MALARIA_DIST_TIMEOUT_S='", t, "' is not a positive number"));
      }
    }
    // What this process alone can check comes first: a bad config or run directory is named at
    // once, not after waiting for ranks that may never come.
    if (absl::Status s = CheckBeforeJoining(options); !s.ok()) return s;
    absl::FPrintF(stderr,
                  "rank %d of %d: joining the data-parallel job at %s:%d (rank 0's store); "
                  "waiting up to %d s for the other ranks (MALARIA_DIST_TIMEOUT_S)\n",
                  env->rank, env->world_size, env->master_addr, env->master_port, timeout_s);
    absl::StatusOr<std::unique_ptr<training::Distributed>> connected =
        training::Distributed::Connect(*env, std::chrono::seconds(timeout_s));
    if (!connected.ok()) return connected.status();
    dist = *std::move(connected);
    options.distributed = dist.get();
    // Rank 0 shows the run; the others write logs/rank<R>.log in it, and errors to stderr.
    if (!dist->is_primary()) options.out = std::fopen("/dev/null", "w");
  }

  base::InstallInterruptHandler();
  if (in.all_folds) {
    if (dist != nullptr) {
      return absl::InvalidArgumentError("--all_folds runs every fold in one process");
    }
    return options.resume_dir.empty() ? RunAllFolds(options) : ResumeFold(options);
  }
  const absl::StatusOr<RunResult> result = RunExperiment(options);
  if (!result.ok()) return result.status();
  return ReportEnd(*result, dist == nullptr || dist->is_primary(), stdout, stderr);
}

}  // namespace
}  // namespace malaria::experiments

int main(int argc, char** argv) {
  return malaria::base::RunMain(argc, argv, malaria::experiments::Main);
}
