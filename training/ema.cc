#include "training/ema.h"

#include <torch/torch.h>

#include <algorithm>
#include <vector>

#include "training/ingredient.h"
#include "training/learner.h"

namespace malaria::training {
namespace {

// Every parameter and buffer, in a fixed order.
std::vector<torch::Tensor> State(models::Classifier& m) {
  std::vector<torch::Tensor> state = m->parameters();
  for (const torch::Tensor& b : m->buffers()) state.push_back(b);
  return state;
}

}  // namespace

void CopyWeights(models::Classifier from, models::Classifier to) {
  torch::NoGradGuard no_grad;
  const std::vector<torch::Tensor> source = State(from), target = State(to);
  TORCH_CHECK(source.size() == target.size(), "CopyWeights: different architectures");
  for (size_t i = 0; i < source.size(); ++i) target[i].copy_(source[i]);
}

double WeightAverage::DecayAt(double decay, int64_t t) {
  return std::min(decay, (1.0 + static_cast<double>(t)) / (10.0 + static_cast<double>(t)));
}

absl::Status WeightAverage::OnFitBegin(FitState& state) {
  if (state.finder) return absl::OkStatus();
  model_ = state.learner->model();
  if (average_.is_empty()) average_ = models::CloneClassifier(*model_);
  CopyWeights(model_, average_);
  state.learner->SetValidatedModel(average_);
  return absl::OkStatus();
}

absl::Status WeightAverage::OnBatchEnd(FitState& state) {
  if (state.finder) return absl::OkStatus();
  torch::NoGradGuard no_grad;
  const double d = DecayAt(decay_, state.iteration);
  const std::vector<torch::Tensor> model = State(model_), average = State(average_);
  const size_t parameters = model_->parameters().size();  // State lists them first
  for (size_t i = 0; i < model.size(); ++i) {
    // A parameter that does not train stays as the stage began (rounding would move it).
    if (i < parameters && !model[i].requires_grad()) continue;
    if (average[i].is_floating_point()) {
      average[i].mul_(d).add_(model[i].detach(), 1 - d);
    } else {
      average[i].copy_(model[i]);
    }
  }
  return absl::OkStatus();
}

void WeightAverage::OnFitEnd(FitState& state, const absl::Status& outcome) {
  if (state.finder || model_.is_empty()) return;
  if (outcome.ok()) CopyWeights(average_, model_);
  state.learner->SetValidatedModel(model_);
}

absl::Status RawWeightsValidation::OnValidateEnd(FitState& state) {
  Learner& learner = *state.learner;
  if (state.finder || learner.validated_model().get() == learner.model().get()) {
    return absl::OkStatus();
  }
  models::Classifier raw = learner.model();
  absl::StatusOr<Predictions> predictions = learner.Validate(raw);
  if (!predictions.ok()) return predictions.status();
  state.epoch_result->raw_accuracy = predictions->Accuracy();
  state.epoch_result->raw_valid_loss = predictions->mean_loss;
  return absl::OkStatus();
}

absl::Status AddWeightAverage(const TrainingConfig& config, const IngredientContext& context,
                              std::vector<std::unique_ptr<Callback>>* out) {
  if (config.weight_average().decay() > 0) {
    out->push_back(std::make_unique<WeightAverage>(config.weight_average().decay()));
    out->push_back(std::make_unique<RawWeightsValidation>());
  }
  return absl::OkStatus();
}

}  // namespace malaria::training
