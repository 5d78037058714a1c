#include "training/compute_meter.h"

#include <torch/torch.h>

#include "models/flops.h"
#include "training/ingredient.h"
#include "training/learner.h"
#include "training/step.h"

namespace malaria::training {

ComputeMeter::ComputeMeter() = default;
ComputeMeter::~ComputeMeter() = default;

absl::Status ComputeMeter::OnForwardBegin(FitState& state) {
  if (state.stage == nullptr || state.step == nullptr || !state.step->images.defined()) {
    return absl::OkStatus();
  }
  const torch::Tensor& images = state.step->images;
  const std::vector<int64_t> chw(images.sizes().begin() + 1, images.sizes().end());
  auto it = per_image_.find(chw);
  if (it == per_image_.end()) {
    it = per_image_.emplace(chw, models::ForwardFlopsPerImage(*state.learner->model(), chw)).first;
  }
  world_size_ = state.world_size;
  train_flops_ += 3.0 * static_cast<double>(images.size(0)) * it->second * state.world_size;
  return absl::OkStatus();
}

absl::Status ComputeMeter::OnValidateBegin(FitState& state) {
  if (!state.finder) validation_ = std::make_unique<models::FlopCounter>();
  return absl::OkStatus();
}

absl::Status ComputeMeter::OnEpochEnd(FitState& state) {
  if (state.epoch_result == nullptr) return absl::OkStatus();
  state.epoch_result->train_flops = train_flops_;
  // Each process validates its share of the images.
  state.epoch_result->eval_flops =
      validation_ != nullptr ? static_cast<double>(validation_->flops()) * world_size_ : 0;
  train_flops_ = 0;
  validation_.reset();
  return absl::OkStatus();
}

void ComputeMeter::OnFitEnd(FitState& state, const absl::Status& outcome) { validation_.reset(); }

absl::Status AddComputeMeter(const TrainingConfig& config, const IngredientContext& context,
                             std::vector<std::unique_ptr<Callback>>* out) {
  out->push_back(std::make_unique<ComputeMeter>());
  return absl::OkStatus();
}

}  // namespace malaria::training
