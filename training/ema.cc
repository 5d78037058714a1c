#include "training/ema.h"

#include <torch/torch.h>

#include <algorithm>
#include <vector>

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

WeightAverage::WeightAverage(models::Classifier model, models::Classifier average, double decay)
    : model_(std::move(model)), average_(std::move(average)), decay_(decay) {}

double WeightAverage::DecayAt(double decay, int64_t t) {
  return std::min(decay, (1.0 + static_cast<double>(t)) / (10.0 + static_cast<double>(t)));
}

void WeightAverage::Reset() { CopyWeights(model_, average_); }

void WeightAverage::Update(int64_t t) {
  torch::NoGradGuard no_grad;
  const double d = DecayAt(decay_, t);
  const std::vector<torch::Tensor> model = State(model_), average = State(average_);
  for (size_t i = 0; i < model.size(); ++i) {
    if (average[i].is_floating_point()) {
      average[i].mul_(d).add_(model[i].detach(), 1 - d);
    } else {
      average[i].copy_(model[i]);
    }
  }
}

absl::Status WeightAverage::OnFitBegin(FitState& state) {
  if (state.progress.epochs_completed == 0) Reset();
  return absl::OkStatus();
}

absl::Status WeightAverage::OnBatchEnd(FitState& state) {
  Update(state.iteration);
  return absl::OkStatus();
}

}  // namespace malaria::training
