// An exponential moving average of a model's weights, as a learner callback (timm's ModelEmaV2,
// with its warm-up). After every optimisation step, each floating-point parameter and buffer of
// `average` becomes
//
//   d * average + (1 - d) * model,   d = min(decay, (1 + t) / (10 + t)),
//
// t counting the steps of the stage before this one; integer buffers (BatchNorm's batch counts)
// are copied. A stage that starts afresh starts its average from the model; a resumed one keeps
// the average its checkpoint restored.
//
//   WeightAverage ema(model, average, /*decay=*/0.999);
//   learner.Fit(stage, 0, lrs, {&ema});   // Learner::Fit adds it itself when Options::ema_model
#ifndef MALARIA_TRAINING_EMA_H_
#define MALARIA_TRAINING_EMA_H_

#include <cstdint>

#include "absl/status/status.h"
#include "models/classifier.h"
#include "training/callback.h"

namespace malaria::training {

class WeightAverage : public Callback {
 public:
  // `average` is a second model of `model`'s architecture.
  WeightAverage(models::Classifier model, models::Classifier average, double decay);

  absl::Status OnFitBegin(FitState& state) override;
  absl::Status OnBatchEnd(FitState& state) override;

  // DecayAt returns the decay of the update after step `t` (0-based).
  static double DecayAt(double decay, int64_t t);
  // Update folds the model into the average with DecayAt(decay, t).
  void Update(int64_t t);
  // Reset makes the average a copy of the model.
  void Reset();

 private:
  models::Classifier model_, average_;
  double decay_;
};

// CopyWeights copies every parameter and buffer of `from` into `to` (the same architecture).
void CopyWeights(models::Classifier from, models::Classifier to);

}  // namespace malaria::training

#endif  // MALARIA_TRAINING_EMA_H_
