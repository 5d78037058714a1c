// The training ingredients: everything a run's training does beyond the loop itself, each a
// callback (or the loss) built from its own message of training_config.proto, in one registry.
//
//   IngredientContext context;   // the run's seed, device and process group
//   context.seed = config.seed();
//   absl::StatusOr<TrainingCallbacks> callbacks = BuildCallbacks(config.training(), context);
//   Learner learner(model, &train, &valid, options, *std::move(callbacks));
//
// The registry (ingredients.cc) lists them in the order the learner runs them:
//   PatchWhitening     model.stem.whiten      the whitening stem's filters, from training images
//   ComputeMeter       always                 the FLOPs of training and validation
//   GradientSync       training.distributed   rank 0's weights, averaged losses and gradients
//   MixedPrecision     training.precision     autocast and loss scaling on CUDA
//   MixupCallback      training.mixup         mixed images and labels
//   LossSmoothing      training.loss_smoothing_beta   the smoothed training loss
//   Lookahead          training.lookahead     slow weights every k steps (before the average)
//   WeightAverage      training.weight_average        the average validated and kept,
//   RawWeightsValidation                              and the raw weights validated too
//   PreciseBatchNorm   training.precise_bn    BatchNorm statistics recomputed before validation
//   BestEpochTracker   training.best_epoch_by the best epoch of each stage
// and the loss (training.loss: label smoothing; training/loss.h).
//
// A new ingredient is one message in training_config.proto, one callback with its Add function
// (`absl::Status AddX(const TrainingConfig&, const IngredientContext&, Callbacks*)`, adding
// nothing when the message leaves it off), one line in the registry, and its test.
#ifndef MALARIA_TRAINING_INGREDIENTS_H_
#define MALARIA_TRAINING_INGREDIENTS_H_

#include "absl/status/statusor.h"
#include "training/ingredient.h"
#include "training/training_config.pb.h"

namespace malaria::training {

// BuildCallbacks returns the ingredients `config` turns on. InvalidArgument naming the field for a
// setting an ingredient refuses (training.precision FLOAT16 on the CPU, a label smoothing out of
// range, ...).
absl::StatusOr<TrainingCallbacks> BuildCallbacks(const TrainingConfig& config,
                                                 const IngredientContext& context);

}  // namespace malaria::training

#endif  // MALARIA_TRAINING_INGREDIENTS_H_
