// The weight average (training.weight_average): an exponential moving average of a model's weights
// as a learner callback (timm's ModelEmaV2, with its warm-up), which owns the averaged model and
// makes it the model the learner validates, checkpoints and hands on; and the validation of the
// raw weights beside it.
//
// After every optimisation step, each floating-point parameter and buffer of the average becomes
//
//   d * average + (1 - d) * model,   d = min(decay, (1 + t) / (10 + t)),
//
// t counting the steps of the stage before this one; integer buffers (BatchNorm's batch counts)
// are copied, and parameters that do not train (requires_grad false: a frozen body, a whitening
// stem, BatchNorm weights fixed at 1) keep the values the stage began with. Every stage starts its average from the model (a resumed one then loads the
// average its checkpoint saved); a stage that completes hands the average on as the model.
//
//   AddWeightAverage(config, context, &callbacks);   // WeightAverage, then RawWeightsValidation
#ifndef MALARIA_TRAINING_EMA_H_
#define MALARIA_TRAINING_EMA_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "models/classifier.h"
#include "training/callback.h"
#include "training/training_config.pb.h"

namespace malaria::training {

struct IngredientContext;  // training/ingredient.h

class WeightAverage : public Callback {
 public:
  explicit WeightAverage(double decay) : decay_(decay) {}

  // OnFitBegin (a stage, not the finder): makes the average (a copy of the learner's model) the
  // learner's validated model, starting from the model's weights.
  absl::Status OnFitBegin(FitState& state) override;
  // OnBatchEnd folds the step into the average.
  absl::Status OnBatchEnd(FitState& state) override;
  // OnFitEnd: a stage that completed hands the average on (copied into the model); the model is
  // the learner's validated model again, however the stage ended.
  void OnFitEnd(FitState& state, const absl::Status& outcome) override;

  // DecayAt returns the decay of the update after step `t` (0-based).
  static double DecayAt(double decay, int64_t t);
  // The averaged model (empty before the first stage).
  models::Classifier average() const { return average_; }

 private:
  models::Classifier model_{nullptr}, average_{nullptr};
  double decay_;
};

// Validates the learner's raw weights too when it validates another model (the weight average):
// OnValidateEnd sets epoch_result->raw_accuracy and raw_valid_loss.
class RawWeightsValidation : public Callback {
 public:
  absl::Status OnValidateEnd(FitState& state) override;
};

// AddWeightAverage adds a WeightAverage and a RawWeightsValidation when
// training.weight_average.decay > 0.
absl::Status AddWeightAverage(const TrainingConfig& config, const IngredientContext& context,
                              std::vector<std::unique_ptr<Callback>>* out);

// CopyWeights copies every parameter and buffer of `from` into `to` (the same architecture).
void CopyWeights(models::Classifier from, models::Classifier to);

}  // namespace malaria::training

#endif  // MALARIA_TRAINING_EMA_H_
