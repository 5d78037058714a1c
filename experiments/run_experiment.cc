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
// Exit status: 0 completed, 1 failed (recorded in the run), 2 nothing started (bad config or
// data; the message says what and where), 130 interrupted (recorded in the run).
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "experiments/launcher.h"
#include "experiments/run_info.pb.h"
#include "experiments/runner.h"
#include "glog/logging.h"
#include "training/distributed.h"
#include "training/interrupt.h"

namespace {

constexpr char kUsage[] =
    "usage: run_experiment --config FILE [--set field.path=value]... [--runs_dir DIR]\n"
    "       run_experiment [--config FILE] --resume RUN_DIR\n"
    "  either with --nproc_per_node N: data-parallel in N processes\n"
    "  --set examples: data.image_size=64  training.stage[0].epochs=2\n"
    "                  data.path=/data/cell_images  training.stage[1].lr={slice {start: 1e-6 stop: "
    "1e-5}}\n";

// Takes the value of `--name VALUE` or `--name=VALUE` at argv[i]; advances i past it.
bool TakeFlag(const char* name, int argc, char** argv, int& i, std::string* value) {
  const std::string arg = argv[i];
  const std::string flag = std::string("--") + name;
  if (arg == flag) {
    if (i + 1 >= argc) {
      absl::FPrintF(stderr, "%s needs a value\n%s", flag, kUsage);
      std::exit(2);
    }
    *value = argv[++i];
    return true;
  }
  if (absl::StartsWith(arg, flag + "=")) {
    *value = arg.substr(flag.size() + 1);
    return true;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  malaria::experiments::RunOptions options;
  for (int i = 0; i < argc; ++i) options.command_line.push_back(argv[i]);
  int nproc = 1;
  std::vector<std::string> worker_args;  // the arguments without --nproc_per_node
  for (int i = 1; i < argc; ++i) {
    std::string value;
    const int first = i;
    if (TakeFlag("nproc_per_node", argc, argv, i, &value)) {
      if (!absl::SimpleAtoi(value, &nproc) || nproc < 1) {
        absl::FPrintF(stderr, "--nproc_per_node: '%s' is not a positive number\n%s", value, kUsage);
        return 2;
      }
      continue;
    }
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      absl::FPrintF(stdout, "%s", kUsage);
      return 0;
    } else if (TakeFlag("config", argc, argv, i, &value)) {
      options.config_path = value;
    } else if (TakeFlag("set", argc, argv, i, &value)) {
      options.overrides.push_back(value);
    } else if (TakeFlag("runs_dir", argc, argv, i, &value)) {
      options.runs_dir = value;
    } else if (TakeFlag("resume", argc, argv, i, &value)) {
      options.resume_dir = value;
    } else {
      absl::FPrintF(stderr, "unknown argument '%s'\n%s", argv[i], kUsage);
      return 2;
    }
    for (int k = first; k <= i; ++k) worker_args.push_back(argv[k]);
  }
  if (options.config_path.empty() && options.resume_dir.empty()) {
    absl::FPrintF(stderr, "--config is required\n%s", kUsage);
    return 2;
  }
  // A worker (started by a launcher or torchrun: RANK and WORLD_SIZE set) never launches others.
  const bool worker = std::getenv("RANK") != nullptr && std::getenv("WORLD_SIZE") != nullptr;
  if (!worker && (nproc > 1 || std::getenv("NNODES") != nullptr)) {
    return malaria::experiments::LaunchWorkers(nproc, "/proc/self/exe", worker_args);
  }

  // One rank of a data-parallel job, when started with torchrun's variables.
  const absl::StatusOr<malaria::training::DistributedEnv> env =
      malaria::training::DistributedEnvFromEnvironment();
  if (!env.ok()) {
    absl::FPrintF(stderr, "ERROR: %s\n", env.status().message());
    return 2;
  }
  std::unique_ptr<malaria::training::Distributed> dist;
  if (env->world_size > 1) {
    int timeout_s = 300;
    if (const char* t = std::getenv("MALARIA_DIST_TIMEOUT_S"); t != nullptr) {
      if (!absl::SimpleAtoi(t, &timeout_s) || timeout_s < 1) {
        absl::FPrintF(stderr, "ERROR: MALARIA_DIST_TIMEOUT_S='%s' is not a positive number\n", t);
        return 2;
      }
    }
    absl::StatusOr<std::unique_ptr<malaria::training::Distributed>> connected =
        malaria::training::Distributed::Connect(*env, std::chrono::seconds(timeout_s));
    if (!connected.ok()) {
      absl::FPrintF(stderr, "ERROR: %s\n", connected.status().message());
      return 2;
    }
    dist = *std::move(connected);
    options.distributed = dist.get();
    // Rank 0 shows the run; the others write logs/rank<R>.log in it, and errors to stderr.
    if (!dist->is_primary()) options.out = std::fopen("/dev/null", "w");
  }

  malaria::training::InstallInterruptHandler();
  const absl::StatusOr<malaria::experiments::RunResult> result =
      malaria::experiments::RunExperiment(options);
  if (!result.ok()) {
    absl::FPrintF(stderr, "\nERROR: %s\n", result.status().message());
    return 2;
  }
  using malaria::experiments::RunInfo;
  switch (result->info.status()) {
    case RunInfo::COMPLETED:
      if (dist != nullptr && !dist->is_primary()) return 0;
      absl::FPrintF(stdout, "\nCompleted in %.0f s. Run directory: %s\n",
                    result->info.duration_seconds(), result->run_dir);
      return 0;
    case RunInfo::INTERRUPTED:
      absl::FPrintF(
          stderr,
          "\nINTERRUPTED: %s\nRun directory (checkpoints of the last completed epoch): %s\n",
          result->info.reason(), result->run_dir);
      return 130;
    default:
      absl::FPrintF(stderr, "\nFAILED: %s\nRun directory: %s\n", result->info.reason(),
                    result->run_dir);
      return 1;
  }
}
