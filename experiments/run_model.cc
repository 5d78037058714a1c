#include "experiments/run_model.h"

#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/utils.h>

#include <algorithm>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/files.h"
#include "data/random.h"
#include "glog/logging.h"
#include "models/flops.h"
#include "models/pretrained.h"
#include "training/distributed.h"
#include "training/ingredients.h"
#include "training/precision.h"

namespace malaria::experiments {

int CoresPerProcess(const training::Distributed* dist) {
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return std::max(1, cores / (dist != nullptr ? dist->local_world_size() : 1));
}

absl::StatusOr<Compute> SetUpCompute(const ExperimentConfig& config, training::Distributed* dist) {
  Compute c;
  const training::TrainingConfig& t = config.training();
  c.threads = t.threads() > 0 ? t.threads() : CoresPerProcess(dist);
  at::set_num_threads(c.threads);
  absl::StatusOr<torch::Device> device = training::ResolveDevice(t.device());
  if (!device.ok()) return device.status();
  c.device = *device;
  if (dist != nullptr) {
    // Each process of a machine takes its own GPU; Gloo or NCCL carries the CUDA tensors.
    if (c.device.is_cuda()) {
      c.device = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(
                                                 dist->local_rank() % torch::cuda::device_count()));
    }
    const training::DistributedConfig::Backend backend = t.distributed().backend();
    const absl::Status joined = dist->UseDevice(
        c.device, backend == training::DistributedConfig::NCCL   ? training::Backend::kNccl
                  : backend == training::DistributedConfig::GLOO ? training::Backend::kGloo
                                                                 : training::Backend::kAuto);
    if (!joined.ok()) {
      return absl::Status(joined.code(),
                          absl::StrCat("training.distributed.backend: ", joined.message()));
    }
  }
  c.learner = training::BuildLearnerOptions(t, config.seed(), c.device);
  c.learner.distributed = dist;
  c.ingredients.seed = config.seed();
  c.ingredients.device = c.device;
  c.ingredients.distributed = dist;
  c.ingredients.model = config.model();
  c.ingredients.cpu_has_bfloat16 = training::CpuHasBfloat16Units();
  c.precision = training::ResolvePrecision(t.precision(), c.device, c.ingredients.cpu_has_bfloat16);
  // Refused settings (mixed precision on the CPU, ...) are found before anything is written.
  absl::StatusOr<training::TrainingCallbacks> callbacks =
      training::BuildCallbacks(t, c.ingredients);
  if (!callbacks.ok()) return callbacks.status();
  c.callbacks = *std::move(callbacks);
  return c;
}

absl::StatusOr<RunModel> BuildRunModel(const ExperimentConfig& config, int num_classes,
                                       std::FILE* out) {
  RunModel m;
  torch::manual_seed(data::MixSeed(config.seed(), data::kInitStream));
  absl::StatusOr<models::Classifier> model = models::BuildClassifier(config.model(), num_classes);
  if (!model.ok()) return model.status();
  m.model = *model;
  const int64_t size = config.data().image_size();
  m.forward_flops = models::ForwardFlopsPerImage(*m.model, {3, size, size});
  m.weights_note = "none configured: random initialisation";
  const std::string& weights = config.model().pretrained_weights();
  if (weights.empty()) return m;
  if (!base::PathExists(weights)) {
    const std::string message = absl::StrCat(
        "model.pretrained_weights: ", weights,
        " does not exist; training from random initialisation instead (docs/experiments.md says "
        "where torchvision's files come from)");
    LOG(WARNING) << message;
    absl::FPrintF(out, "\nWARNING: %s\n", message);
    m.weights_note = absl::StrCat("not found (", weights, "): random initialisation");
    m.warnings.push_back(message);
    return m;
  }
  if (absl::Status s = models::LoadTorchvisionWeights(weights, *m.model->body); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("model.pretrained_weights: ", s.message()));
  }
  m.weights_note = absl::StrCat("loaded ", weights, " into the body (its fc layer dropped)");
  absl::FPrintF(out, "Loaded ImageNet weights for the %s body from %s\n",
                config.model().architecture(), weights);
  return m;
}

}  // namespace malaria::experiments
