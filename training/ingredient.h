// What every training ingredient's builder takes and gives (training/ingredients.h lists them):
// the context a run builds them in, and the loss and callbacks they make.
//
//   absl::Status AddMixup(const TrainingConfig& config, const IngredientContext& context,
//                         std::vector<std::unique_ptr<Callback>>* out);
#ifndef MALARIA_TRAINING_INGREDIENT_H_
#define MALARIA_TRAINING_INGREDIENT_H_

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "models/model_config.pb.h"
#include "training/callback.h"
#include "training/loss.h"

namespace malaria::training {

class Distributed;

// What building the ingredients takes besides the config.
struct IngredientContext {
  uint64_t seed = 0;                   // the run's seed (mixup's draws)
  torch::Device device = torch::kCPU;  // where the run trains
  Distributed* distributed = nullptr;  // the data-parallel process group, or none
  models::ModelConfig model;           // the model trained (its whitening stem)
  // Whether the run's CPU may use bfloat16 units (CpuHasBfloat16Units(), asked once per run):
  // what training.precision BFLOAT16[_WHERE_AVAILABLE] resolves to on the CPU.
  bool cpu_has_bfloat16 = false;
};

// A run's ingredients: the loss and the callbacks, in the order the learner runs them.
struct TrainingCallbacks {
  Loss loss;
  std::vector<std::unique_ptr<Callback>> callbacks;
};

}  // namespace malaria::training

#endif  // MALARIA_TRAINING_INGREDIENT_H_
