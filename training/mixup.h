// fastai v1's MixUpCallback (training.mixup): each training image is mixed with another of its
// batch, and the loss (training/loss.h) weighs the two labels the same way.
//
//   Mixup(&step, /*alpha=*/0.4, data::MixSeed(seed, stream, batch));   // step.images mixed,
//                                                                      // partners and lambda set
//   MixupCallback mixup(/*alpha=*/0.4, seed);   // does it for every training batch
#ifndef MALARIA_TRAINING_MIXUP_H_
#define MALARIA_TRAINING_MIXUP_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "training/callback.h"
#include "training/step.h"
#include "training/training_config.pb.h"

namespace malaria::training {

struct IngredientContext;  // training/ingredient.h

// Mixup is fastai v1's MixUpCallback (stack_y): a random pairing of the batch (partner[i] =
// perm[i]) and, per image, l ~ Beta(alpha, alpha), lambda = max(l, 1 - l) so each image stays the
// larger part of its mix; step->images = lambda * x + (1 - lambda) * x[perm], step->partners the
// partners' labels, step->lambda the lambdas. Draws come from `seed` alone (data::Rng), so a batch
// mixes the same way on every run and every resume.
void Mixup(StepTensors* step, double alpha, uint64_t seed);

// Mixes every batch (OnBatchBegin), of a stage and of the learning-rate finder, with draws keyed
// by the run's seed, the stage, the finder and the batch.
class MixupCallback : public Callback {
 public:
  MixupCallback(double alpha, uint64_t seed) : alpha_(alpha), seed_(seed) {}
  absl::Status OnBatchBegin(FitState& state) override;

 private:
  double alpha_;
  uint64_t seed_;
};

// AddMixup adds a MixupCallback when training.mixup.alpha > 0.
absl::Status AddMixup(const TrainingConfig& config, const IngredientContext& context,
                      std::vector<std::unique_ptr<Callback>>* out);

}  // namespace malaria::training

#endif  // MALARIA_TRAINING_MIXUP_H_
