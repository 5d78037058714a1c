// The runner's compute and model steps: where a run computes (threads, device, the data-parallel
// group for its tensors, the learner's options) and the model it trains (built from model.*,
// with torchvision's weights in its body when configured).
//
//   absl::StatusOr<Compute> compute = SetUpCompute(config, dist);
//   absl::StatusOr<RunModel> model = BuildRunModel(config, /*num_classes=*/2, compute->device,
//   out);
#ifndef MALARIA_EXPERIMENTS_RUN_MODEL_H_
#define MALARIA_EXPERIMENTS_RUN_MODEL_H_

#include <torch/types.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "experiments/experiment.pb.h"
#include "models/classifier.h"
#include "training/learner.h"

namespace malaria::training {
class Distributed;
}

namespace malaria::experiments {

// CoresPerProcess returns the cores this process may use: all of them, shared among the
// processes of a data-parallel job on this machine (dist may be null: one process).
int CoresPerProcess(const training::Distributed* dist);

// Where and how a run computes.
struct Compute {
  int threads = 1;
  torch::Device device = torch::kCPU;
  // training.precision resolved on this machine (BFLOAT16_WHERE_AVAILABLE: BFLOAT16 or FLOAT32).
  training::Precision precision = training::FLOAT32;
  training::Learner::Options learner;       // without checkpoint_dir and config_text
  training::IngredientContext ingredients;  // what training::BuildCallbacks took
  // The training ingredients (loss and callbacks), built once here: the run's learner takes them.
  training::TrainingCallbacks callbacks;
};

// SetUpCompute sets LibTorch's intra-op threads (training.threads, else this process's share of
// the cores), resolves training.device (in a data-parallel job each process takes GPU
// LOCAL_RANK and joins the group training.distributed.backend names for CUDA tensors), builds
// the learner's options (BuildLearnerOptions) and builds the training ingredients
// (training::BuildCallbacks). Errors name the field: training.device,
// training.distributed.backend, training.precision, ...
absl::StatusOr<Compute> SetUpCompute(const ExperimentConfig& config, training::Distributed* dist);

// A run's model.
struct RunModel {
  models::Classifier model{nullptr};
  std::string weights_note;  // what run_info records: loaded, not found, or none configured
  // Forward FLOPs per image at data.image_size (models/flops.h), for run_info.
  int64_t forward_flops = 0;
  std::vector<std::string> warnings;
};

// BuildRunModel builds the classifier model.* describes for `num_classes`, initialised from the
// run's seed, and loads model.pretrained_weights into its body when that file exists. A missing
// file is a warning (the run trains from random initialisation and records it); a file that
// cannot be loaded is an error naming model.pretrained_weights.
absl::StatusOr<RunModel> BuildRunModel(const ExperimentConfig& config, int num_classes,
                                       std::FILE* out);

}  // namespace malaria::experiments

#endif  // MALARIA_EXPERIMENTS_RUN_MODEL_H_
