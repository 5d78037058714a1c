#include "training/precision.h"

#include <ATen/autocast_mode.h>
#include <torch/torch.h>

#include "absl/strings/str_cat.h"
#include "training/ingredient.h"
#include "training/step.h"

namespace malaria::training {

MixedPrecision::MixedPrecision(Precision precision) : precision_(precision) {
  if (precision == FLOAT16) scaler_ = std::make_unique<DynamicLossScaler>();
}

MixedPrecision::~MixedPrecision() { AutocastOff(); }

void MixedPrecision::AutocastOff() {
  if (!autocast_on_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  at::autocast::set_enabled(false);
  autocast_on_ = false;
}

absl::Status MixedPrecision::OnForwardBegin(FitState& state) {
  at::autocast::set_autocast_gpu_dtype(precision_ == FLOAT16 ? at::kHalf : at::kBFloat16);
  at::autocast::set_enabled(true);
  at::autocast::increment_nesting();
  autocast_on_ = true;
  return absl::OkStatus();
}

absl::Status MixedPrecision::OnForwardEnd(FitState& state) {
  AutocastOff();
  if (state.step->logits.defined()) state.step->logits = state.step->logits.to(torch::kFloat);
  return absl::OkStatus();
}

absl::Status MixedPrecision::OnBackwardBegin(FitState& state) {
  if (scaler_ != nullptr) state.step->loss = scaler_->Scale(state.step->loss);
  return absl::OkStatus();
}

absl::Status MixedPrecision::OnBackwardEnd(FitState& state) {
  if (scaler_ == nullptr || state.optimizer == nullptr) return absl::OkStatus();
  std::vector<torch::Tensor> params;
  for (const auto& group : state.optimizer->param_groups()) {
    params.insert(params.end(), group.params().begin(), group.params().end());
  }
  if (!scaler_->UnscaleAndCheck(params)) state.skip_step = true;  // overflow: no update
  return absl::OkStatus();
}

void MixedPrecision::OnFitEnd(FitState& state, const absl::Status& outcome) { AutocastOff(); }

absl::Status AddMixedPrecision(const TrainingConfig& config, const IngredientContext& context,
                               std::vector<std::unique_ptr<Callback>>* out) {
  if (config.precision() == FLOAT32) return absl::OkStatus();
  if (!context.device.is_cuda()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "training.precision: ", Precision_Name(config.precision()),
        " is CUDA mixed precision; this run uses ", context.device.str(), " (use FLOAT32)"));
  }
  out->push_back(std::make_unique<MixedPrecision>(config.precision()));
  return absl::OkStatus();
}

}  // namespace malaria::training
