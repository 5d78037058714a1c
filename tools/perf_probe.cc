// The C++ side of //tools:benchmark_vs_pytorch: the platform's own code paths, timed, one JSON line
// per call (the same modes and flags as tools/reference_pytorch.py).
//
//   perf_probe train-step --arch resnet34 --size 64 --batch 32 --frozen 1 --threads 2
//   perf_probe inference --arch resnet34 --size 128 --batch 64 --threads 2
//   perf_probe epoch --data DIR --size 64 --batch 64 --threads 2 --epochs 2 [--frozen 1]
//   perf_probe matmul --n 4096 --threads 2        a BLAS matrix multiply's rate (GFLOP/s), with
//                                                 the OpenBLAS core type it ran
//   perf_probe peak --threads 2 [--seconds 1]     the CPU's limit: the FMA throughput of each
//                                                 vector unit it has, and bfloat16 dot products'
//                                                 where it has AVX512_BF16 (base/cpu_peak.h)
//   perf_probe flops --arch resnet34 --size 64    forward GFLOP per image (models/flops.h)
//   perf_probe train-step --config experiments/nih50_speedrun.pbtxt   any recipe's exact model,
//                                                 at its image size and batch (--batch N and
//                                                 --channels_last 0 override them)
//   perf_probe train-step --config FILE --bare 1  the bare step tools/reference_pytorch.py times:
//                                                 the platform's model and AdamW on one fixed batch
//                                                 (no loader, no callbacks)
//   perf_probe train-step|inference ... --bf16 1  the same under bfloat16 autocast
//                                                 (training.precision BFLOAT16; refused on a CPU
//                                                 without AVX512_BF16 units)
//   perf_probe inference ... --trace FILE         every operator's time as a Chrome trace (the
//                                                 reference's --trace writes the same)
//   perf_probe reference-flags --config FILE      tools/reference_pytorch.py's flags for its copy
//
// train-step and epoch run the real Learner (AdamW, one-cycle, channels-last as configured by
// default) through the real loader; train-step trains on synthetic cells written to a temporary
// folder and counts only the batches after the warm-up ones. epoch includes decoding the PNG files
// (the decoded cache is filled during epoch 1 and used from epoch 2 on).
#include "tools/perf_probe.h"

#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "base/cpu_peak.h"
#include "base/main.h"
#include "experiments/config.h"
#include "models/classifier.h"
#include "models/flops.h"
#include "training/precision.h"

namespace malaria::perf_probe {
namespace {

using Clock = std::chrono::steady_clock;

// The integer flags and the values each takes.
struct IntFlag {
  const char* name;
  int min, max;
};
constexpr IntFlag kIntFlags[] = {
    {"size", 32, 2048},   {"batch", 1, 65536},     {"warmup", 1, 1000}, {"steps", 1, 100000},
    {"frozen", 0, 2},     {"channels_last", 0, 1}, {"epochs", 1, 1000}, {"n", 1, 32768},
    {"threads", 1, 1024}, {"seconds", 1, 60},      {"bare", 0, 1},      {"bf16", 0, 1},
};
constexpr const char* kStringFlags[] = {"arch", "config", "data", "trace"};

// Reads "--flag value" pairs: every flag known, every integer a whole number in its range.
absl::StatusOr<Flags> ParseFlags(int argc, char** argv) {
  Flags flags;
  for (int i = 2; i < argc; i += 2) {
    const std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0 || arg.size() < 3) {
      return absl::InvalidArgumentError(absl::StrCat("'", arg, "' is not a --flag"));
    }
    if (i + 1 >= argc) return absl::InvalidArgumentError(absl::StrCat(arg, " needs a value"));
    flags.values[arg.substr(2)] = argv[i + 1];
  }
  for (const auto& [name, value] : flags.values) {
    bool known = false;
    for (const char* s : kStringFlags) known = known || name == s;
    for (const IntFlag& f : kIntFlags) {
      if (name != f.name) continue;
      known = true;
      int v;
      if (!absl::SimpleAtoi(value, &v) || v < f.min || v > f.max) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--", name, " '", value, "' is not a whole number in [", f.min, ", ", f.max, "]"));
      }
    }
    if (!known) return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
  }
  return flags;
}

}  // namespace

absl::StatusOr<models::ModelConfig> ModelConfigOf(const Flags& f) {
  if (f.values.count("config")) {
    absl::StatusOr<experiments::ExperimentConfig> config =
        experiments::LoadExperimentConfig(f.Get("config", ""));
    if (!config.ok()) return config.status();
    experiments::FillDefaults(&*config);
    if (absl::Status s = experiments::ValidateExperimentConfig(*config); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(f.Get("config", ""), ": ", s.message()));
    }
    return config->model();
  }
  models::ModelConfig config;
  config.set_architecture(f.Get("arch", "resnet34"));
  return config;
}

absl::StatusOr<models::Classifier> Model(const Flags& f) {
  absl::StatusOr<models::ModelConfig> config = ModelConfigOf(f);
  if (!config.ok()) return config.status();
  return models::BuildClassifier(*config, 2);
}

namespace {

absl::StatusOr<std::string> Matmul(const Flags& f) {
  const int n = f.Int("n", 4096);
  const torch::Tensor a = torch::randn({n, n}), b = torch::randn({n, n});
  torch::mm(a, b);
  const int reps = 3;
  const Clock::time_point start = Clock::now();
  for (int i = 0; i < reps; ++i) torch::mm(a, b);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const char* core = std::getenv("OPENBLAS_CORETYPE");
  return absl::StrFormat("{\"gflops\": %.2f, \"openblas_coretype\": \"%s\"}",
                         2.0 * n * n * n * reps / seconds / 1e9, core == nullptr ? "" : core);
}

// The CPU's peak: every vector unit's FMA (or bfloat16 dot-product) throughput on --threads.
absl::StatusOr<std::string> Peak(const Flags& f) {
  const int threads = f.Int("threads", 2);
  const double seconds = f.Int("seconds", 1);
  std::vector<std::string> units;
  const std::vector<base::PeakRate> rates = base::MeasurePeaks(threads, seconds);
  for (const base::PeakRate& r : rates) {
    units.push_back(absl::StrFormat("{\"unit\": \"%s\", \"gflops\": %.1f, \"seconds\": %.3f}",
                                    r.name, r.gflops, r.seconds));
  }
  const base::PeakLimits limits = base::LimitsOf(rates);
  // Whether runs here train in bfloat16 (the units, and oneDNN not capped below them).
  return absl::StrFormat(
      "{\"fp32_peak_gflops\": %.1f, \"bf16_peak_gflops\": %.1f, \"threads\": %d, \"units\": [%s], "
      "\"bf16_autocast\": %s}",
      limits.fp32_gflops, limits.bf16_gflops, threads, absl::StrJoin(units, ", "),
      training::CpuHasBfloat16Units() ? "true" : "false");
}

// Forward FLOPs per image of the model as built (models/flops.h), at --size.
absl::StatusOr<std::string> Flops(const Flags& f) {
  absl::StatusOr<models::Classifier> model = Model(f);
  if (!model.ok()) return model.status();
  const int size = f.Int("size", 64);
  return absl::StrFormat("{\"forward_gflop\": %.5f}",
                         models::ForwardFlopsPerImage(**model, {3, size, size}) / 1e9);
}

// The flags of tools/reference_pytorch.py that build the plain PyTorch copy of --config's model
// (or --arch's), and the size and batch the config trains with.
absl::StatusOr<std::string> ReferenceFlags(const Flags& f) {
  absl::StatusOr<models::ModelConfig> config = ModelConfigOf(f);
  if (!config.ok()) return config.status();
  const models::ModelConfig& m = *config;
  std::string out = absl::StrCat("--arch ", m.architecture());
  if (m.architecture() == models::kShapedResNet) {
    absl::StrAppend(&out, " --widths ", absl::StrJoin(m.shape().widths(), ","), " --blocks ",
                    absl::StrJoin(m.shape().blocks(), ","));
  }
  absl::StrAppend(&out, " --stem ", m.stem().kernel_size(), ",", m.stem().stride(), ",",
                  m.stem().max_pool() ? 1 : 0, " --in_channels ", m.input_channels(), " --head ",
                  m.head().kind() == models::HeadConfig::LINEAR ? "linear" : "fastai",
                  " --concat_pool ", m.head().concat_pool() ? 1 : 0, " --size ", f.Int("size", 64),
                  " --batch ", f.Int("batch", 32));
  return out;
}

}  // namespace
}  // namespace malaria::perf_probe

int main(int argc, char** argv) {
  return malaria::base::RunMain(argc, argv, [](int argc, char** argv) -> absl::StatusOr<int> {
    if (argc < 2) {
      return absl::InvalidArgumentError(
          "usage: perf_probe train-step|inference|epoch|matmul|peak|flops|reference-flags "
          "[--flag value]...");
    }
    absl::StatusOr<malaria::perf_probe::Flags> parsed = malaria::perf_probe::ParseFlags(argc, argv);
    if (!parsed.ok()) return parsed.status();
    malaria::perf_probe::Flags& flags = *parsed;
    // An experiment config gives the size and batch its runs train with, unless set.
    if (flags.values.count("config")) {
      absl::StatusOr<malaria::experiments::ExperimentConfig> config =
          malaria::experiments::LoadExperimentConfig(flags.Get("config", ""));
      if (!config.ok()) return config.status();
      flags.values.emplace("size", absl::StrCat(config->data().image_size()));
      flags.values.emplace("batch", absl::StrCat(config->data().batch_size()));
    }
    at::set_num_threads(flags.Int("threads", 2));
    const std::string mode = argv[1];
    absl::StatusOr<std::string> out;
    if (mode == "train-step") {
      out = malaria::perf_probe::TrainStep(flags);
    } else if (mode == "inference") {
      out = malaria::perf_probe::Inference(flags);
    } else if (mode == "epoch") {
      out = malaria::perf_probe::Epoch(flags);
    } else if (mode == "matmul") {
      out = malaria::perf_probe::Matmul(flags);
    } else if (mode == "peak") {
      out = malaria::perf_probe::Peak(flags);
    } else if (mode == "flops") {
      out = malaria::perf_probe::Flops(flags);
    } else if (mode == "reference-flags") {
      out = malaria::perf_probe::ReferenceFlags(flags);
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown mode ", mode));
    }
    if (!out.ok()) return out.status();
    absl::PrintF("%s\n", *out);
    return malaria::base::kExitOk;
  });
}
