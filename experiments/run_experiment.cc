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
//   --nproc_per_node N  data-parallel training in N processes on this machine (with NNODES,
//                       NODE_RANK, MASTER_ADDR and MASTER_PORT set, on several machines); see
//                       experiments/launcher.h. Started with torchrun's variables instead
//                       (WORLD_SIZE > 1), this process is one rank of such a job.
//
// Environment: MALARIA_DIST_TIMEOUT_S (default 300), how long a data-parallel exchange may wait
// before the run fails.
//
// Exit status (base/main.h): 0 completed, 1 failed (recorded in the run), 2 nothing started (bad
// flag, config or data; the message says what and where), 130 interrupted (recorded in the run).
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/flags.h"
#include "base/main.h"
#include "experiments/launcher.h"
#include "experiments/run_info.pb.h"
#include "experiments/runner.h"
#include "training/distributed.h"
#include "training/interrupt.h"

namespace malaria::experiments {
namespace {

absl::StatusOr<int> Main(int argc, char** argv) {
  RunOptions options;
  for (int i = 0; i < argc; ++i) options.command_line.push_back(argv[i]);
  int nproc = 1;
  base::FlagParser flags(
      "run_experiment --config FILE [--set field.path=value]... [--runs_dir DIR]\n"
      "       run_experiment [--config FILE] --resume RUN_DIR",
      "Runs (or resumes) an experiment config; with --nproc_per_node N, data-parallel in N\n"
      "processes. --set examples: data.image_size=64  training.stage[0].epochs=2\n"
      "  data.path=/data/cell_images  training.stage[1].lr={slice {start: 1e-6 stop: 1e-5}}");
  flags.String("config", &options.config_path,
               "the experiment config (text-format ExperimentConfig)");
  flags.Strings("set", &options.overrides, "override one config field, recorded in the run");
  flags.String("runs_dir", &options.runs_dir,
               "tracker root (default $MALARIA_RUNS_DIR, the config's, or <workspace>/runs)");
  flags.String("resume", &options.resume_dir,
               "continue an interrupted or failed run after its last completed epoch");
  flags.Int("nproc_per_node", &nproc, "data-parallel processes on this machine");
  absl::StatusOr<bool> go = flags.Parse(argc, argv);
  if (!go.ok()) return go.status();
  if (!*go) return base::kExitOk;
  if (nproc < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--nproc_per_node: '", nproc, "' is not a positive number\n", flags.Usage()));
  }
  if (options.config_path.empty() && options.resume_dir.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("--config is required\n", flags.Usage()));
  }
  // A worker (started by a launcher or torchrun: RANK and WORLD_SIZE set) never launches others.
  const bool worker = std::getenv("RANK") != nullptr && std::getenv("WORLD_SIZE") != nullptr;
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
    absl::StatusOr<std::unique_ptr<training::Distributed>> connected =
        training::Distributed::Connect(*env, std::chrono::seconds(timeout_s));
    if (!connected.ok()) return connected.status();
    dist = *std::move(connected);
    options.distributed = dist.get();
    // Rank 0 shows the run; the others write logs/rank<R>.log in it, and errors to stderr.
    if (!dist->is_primary()) options.out = std::fopen("/dev/null", "w");
  }

  training::InstallInterruptHandler();
  const absl::StatusOr<RunResult> result = RunExperiment(options);
  if (!result.ok()) return result.status();
  return ReportEnd(*result, dist == nullptr || dist->is_primary(), stdout, stderr);
}

}  // namespace
}  // namespace malaria::experiments

int main(int argc, char** argv) {
  return malaria::base::RunMain(argc, argv, malaria::experiments::Main);
}
