// Learner::Options from the config, and the device a run computes on (training/learner.h).
#include <torch/cuda.h>

#include "training/learner.h"

namespace malaria::training {

Learner::Options BuildLearnerOptions(const TrainingConfig& config, uint64_t seed,
                                     const torch::Device& device) {
  Learner::Options options;
  options.device = device;
  options.seed = seed;
  options.channels_last = config.channels_last();
  return options;
}

absl::StatusOr<torch::Device> ResolveDevice(Device device) {
  const bool available = torch::cuda::is_available();
  switch (device) {
    case DEVICE_CPU:
      return torch::Device(torch::kCPU);
    case DEVICE_CUDA:
      if (!available) {
        return absl::FailedPreconditionError(
            "training.device is DEVICE_CUDA but no CUDA device is usable (this LibTorch build "
            "has no CUDA, or no GPU is present); build with --config=cuda on a GPU machine");
      }
      return torch::Device(torch::kCUDA);
    default:
      return available ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
  }
}

}  // namespace malaria::training
