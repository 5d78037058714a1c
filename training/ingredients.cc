#include "training/ingredients.h"

#include "training/callbacks.h"
#include "training/compute_meter.h"
#include "training/data_parallel.h"
#include "training/ema.h"
#include "training/lookahead.h"
#include "training/mixup.h"
#include "training/patch_whitening.h"
#include "training/precise_bn.h"
#include "training/precision.h"

namespace malaria::training {
namespace {

using AddIngredient = absl::Status (*)(const TrainingConfig&, const IngredientContext&,
                                       std::vector<std::unique_ptr<Callback>>*);

// The registry, in the order the learner runs the callbacks (see ingredients.h).
constexpr AddIngredient kIngredients[] = {
    &AddPatchWhitening,    // model.stem.whiten (before the weights are shared or copied)
    &AddComputeMeter,      // always: the FLOPs of training and validation
    &AddGradientSync,      // training.distributed
    &AddMixedPrecision,    // training.precision
    &AddMixup,             // training.mixup
    &AddLossSmoothing,     // training.loss_smoothing_beta
    &AddLookahead,         // training.lookahead
    &AddWeightAverage,     // training.weight_average
    &AddPreciseBn,         // training.precise_bn
    &AddBestEpochTracker,  // training.best_epoch_by
};

}  // namespace

absl::StatusOr<TrainingCallbacks> BuildCallbacks(const TrainingConfig& config,
                                                 const IngredientContext& context) {
  absl::StatusOr<Loss> loss = BuildLoss(config);
  if (!loss.ok()) return loss.status();
  TrainingCallbacks out{*loss, {}};
  for (AddIngredient add : kIngredients) {
    if (absl::Status s = add(config, context, &out.callbacks); !s.ok()) return s;
  }
  return out;
}

}  // namespace malaria::training
