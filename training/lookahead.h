// Lookahead (Zhang, Lucas, Hinton and Ba 2019; training.lookahead): the optimizer's weights run
// ahead as "fast" weights; every `steps` updates the "slow" weights move `alpha` of the way to
// them and the fast weights start again from there:
//   slow += alpha * (fast - slow);  fast = slow
// Fewer wild excursions at high learning rates, the speed-run practice of the CIFAR-10 "airbench"
// line. The slow weights start from the model's weights when a stage (not the learning-rate
// finder) begins; they are not checkpointed, so a resumed stage starts them again from the
// checkpoint's weights. Every process of a data-parallel run does the same on the same weights.
//
//   AddLookahead(config, context, &callbacks);   // with training.lookahead.steps > 0
#ifndef MALARIA_TRAINING_LOOKAHEAD_H_
#define MALARIA_TRAINING_LOOKAHEAD_H_

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "training/callback.h"
#include "training/training_config.pb.h"

namespace malaria::training {

struct IngredientContext;  // training/ingredient.h

class Lookahead : public Callback {
 public:
  Lookahead(int steps, double alpha) : steps_(steps), alpha_(alpha) {}
  // OnFitBegin: the slow weights are a copy of the model's trainable weights.
  absl::Status OnFitBegin(FitState& state) override;
  // OnBatchEnd: after every `steps` updates (batches the optimizer stepped), the slow weights
  // move towards the fast ones and the model takes them.
  absl::Status OnBatchEnd(FitState& state) override;
  void OnFitEnd(FitState& state, const absl::Status& outcome) override;

 private:
  int steps_;
  double alpha_;
  int64_t updates_ = 0;
  std::vector<torch::Tensor> fast_, slow_;
};

// AddLookahead adds a Lookahead when training.lookahead.steps > 0. InvalidArgument naming the
// field for steps < 0 or alpha outside (0, 1].
absl::Status AddLookahead(const TrainingConfig& config, const IngredientContext& context,
                          std::vector<std::unique_ptr<Callback>>* out);

}  // namespace malaria::training

#endif  // MALARIA_TRAINING_LOOKAHEAD_H_
