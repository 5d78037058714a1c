// Mixed precision (training.precision FLOAT16 or BFLOAT16): the forward pass under autocast and,
// for float16, dynamic loss scaling (training/loss_scaler.h), as one callback. On CUDA both; on
// the CPU bfloat16 only, and only where the CPU has bfloat16 arithmetic units (AVX512_BF16; every
// CPU with AMX has it too): elsewhere oneDNN emulates bfloat16 more slowly than float32 (AVX-512)
// or has no bfloat16 convolution at all (below AVX-512). The
// weights, the optimizer's state, BatchNorm's running statistics and the loss stay float32.
//
//   MixedPrecision amp(FLOAT16);   // AddMixedPrecision builds it from the config
//   MixedPrecision cpu_amp(BFLOAT16, torch::kCPU);
//   // OnForwardBegin: autocast on; OnForwardEnd: off; OnBackwardBegin: the loss scaled;
//   // OnBackwardEnd: gradients unscaled, the step skipped when they overflowed.
#ifndef MALARIA_TRAINING_PRECISION_H_
#define MALARIA_TRAINING_PRECISION_H_

#include <torch/types.h>

#include <memory>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "inference/autocast.h"
#include "training/callback.h"
#include "training/loss_scaler.h"
#include "training/training_config.pb.h"

namespace malaria::training {

struct IngredientContext;  // training/ingredient.h

class MixedPrecision : public Callback {
 public:
  // `precision` FLOAT16 or BFLOAT16 (loss scaling for FLOAT16 only), autocast on `device`'s kind
  // (CUDA or the CPU; CheckPrecision says which pairs are allowed).
  explicit MixedPrecision(Precision precision, torch::DeviceType device = torch::kCUDA);
  ~MixedPrecision() override;  // autocast off, whatever happened

  absl::Status OnForwardBegin(FitState& state) override;
  absl::Status OnForwardEnd(FitState& state) override;
  absl::Status OnBackwardBegin(FitState& state) override;
  absl::Status OnBackwardEnd(FitState& state) override;
  // Turns autocast off if a forward pass threw inside it.
  void OnFitEnd(FitState& state, const absl::Status& outcome) override;

  bool autocast_on() const { return autocast_.has_value() && autocast_->on(); }
  const DynamicLossScaler* scaler() const { return scaler_.get(); }

 private:
  void AutocastOff();

  Precision precision_;
  torch::DeviceType device_;
  std::unique_ptr<DynamicLossScaler> scaler_;         // FLOAT16 only
  std::optional<inference::AutocastScope> autocast_;  // between OnForwardBegin and End
};

// Whether this CPU has bfloat16 arithmetic units (AVX512_BF16) that oneDNN may use (not capped
// below them by ONEDNN_MAX_CPU_ISA): the CPU's condition for BFLOAT16.
bool CpuHasBfloat16Units();

// The arithmetic `configured` means on `device`: BFLOAT16_WHERE_AVAILABLE becomes BFLOAT16 on CUDA
// or where `cpu_has_bfloat16`, FLOAT32 elsewhere; the others stay as they are.
Precision ResolvePrecision(Precision configured, const torch::Device& device,
                           bool cpu_has_bfloat16);

// CheckPrecision: OK when `precision` can run on `device`: FLOAT32 anywhere, FLOAT16 and BFLOAT16
// on CUDA, BFLOAT16 on a CPU where `cpu_has_bfloat16` (CpuHasBfloat16Units() for this host).
// Otherwise InvalidArgument naming training.precision, the device and what it lacks.
absl::Status CheckPrecision(Precision precision, const torch::Device& device,
                            bool cpu_has_bfloat16);

// The arithmetic a trained model predicts with on this CPU: BFLOAT16 where it trained in
// BFLOAT16 or BFLOAT16_WHERE_AVAILABLE (its calibration was fitted on such predictions) and this
// CPU has the units; FLOAT32 otherwise (its weights are float32 whatever it trained in).
Precision CpuInferencePrecision(Precision trained, bool cpu_has_bfloat16);

// AddMixedPrecision adds a MixedPrecision for training.precision FLOAT16 or BFLOAT16 (resolved by
// ResolvePrecision), after CheckPrecision on the run's device and context.cpu_has_bfloat16.
absl::Status AddMixedPrecision(const TrainingConfig& config, const IngredientContext& context,
                               std::vector<std::unique_ptr<Callback>>* out);

}  // namespace malaria::training

#endif  // MALARIA_TRAINING_PRECISION_H_
