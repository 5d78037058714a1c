// Mixed precision on CUDA (training.precision FLOAT16 or BFLOAT16): the forward pass under
// autocast and, for float16, dynamic loss scaling (training/loss_scaler.h), as one callback.
//
//   MixedPrecision amp(FLOAT16);   // AddMixedPrecision builds it from the config
//   // OnForwardBegin: autocast on; OnForwardEnd: off; OnBackwardBegin: the loss scaled;
//   // OnBackwardEnd: gradients unscaled, the step skipped when they overflowed.
#ifndef MALARIA_TRAINING_PRECISION_H_
#define MALARIA_TRAINING_PRECISION_H_

#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "training/callback.h"
#include "training/loss_scaler.h"
#include "training/training_config.pb.h"

namespace malaria::training {

struct IngredientContext;  // training/ingredient.h

class MixedPrecision : public Callback {
 public:
  // `precision` FLOAT16 or BFLOAT16 (loss scaling for FLOAT16 only).
  explicit MixedPrecision(Precision precision);
  ~MixedPrecision() override;  // autocast off, whatever happened

  absl::Status OnForwardBegin(FitState& state) override;
  absl::Status OnForwardEnd(FitState& state) override;
  absl::Status OnBackwardBegin(FitState& state) override;
  absl::Status OnBackwardEnd(FitState& state) override;
  // Turns autocast off if a forward pass threw inside it.
  void OnFitEnd(FitState& state, const absl::Status& outcome) override;

  bool autocast_on() const { return autocast_on_; }
  const DynamicLossScaler* scaler() const { return scaler_.get(); }

 private:
  void AutocastOff();

  Precision precision_;
  std::unique_ptr<DynamicLossScaler> scaler_;  // FLOAT16 only
  bool autocast_on_ = false;
};

// AddMixedPrecision adds a MixedPrecision for training.precision FLOAT16 or BFLOAT16.
// InvalidArgument naming training.precision when the run's device is not CUDA.
absl::Status AddMixedPrecision(const TrainingConfig& config, const IngredientContext& context,
                               std::vector<std::unique_ptr<Callback>>* out);

}  // namespace malaria::training

#endif  // MALARIA_TRAINING_PRECISION_H_
