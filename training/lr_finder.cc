#include "training/lr_finder.h"

#include <torch/torch.h>

#include <cmath>

namespace malaria::training {

LrFinder::LrFinder(const LrFinderConfig& config, int layer_groups)
    : config_(config), layer_groups_(layer_groups), smooth_(config.smooth_beta()) {}

absl::Status LrFinder::OnFitBegin(FitState& state) {
  torch::NoGradGuard no_grad;
  saved_.clear();
  for (const auto& p : state.model->parameters()) saved_.push_back(p.detach().clone());
  for (const auto& b : state.model->buffers()) saved_.push_back(b.detach().clone());
  return absl::OkStatus();
}

absl::Status LrFinder::OnBatchBegin(FitState& state) {
  const double lr = AnnealingExp(config_.start_lr(), config_.end_lr(),
                                 static_cast<double>(state.iteration) / config_.num_iterations());
  state.lrs.assign(layer_groups_, lr);
  state.mom = config_.beta1();
  return absl::OkStatus();
}

absl::Status LrFinder::OnBatchEnd(FitState& state) {
  const double s = smooth_.Add(state.loss);
  result_.lrs.push_back(state.lrs.front());
  result_.raw_losses.push_back(state.loss);
  result_.losses.push_back(s);
  if (state.iteration == 0 || s < best_) best_ = s;
  if (state.iteration + 1 >= config_.num_iterations()) state.stop = true;
  if (config_.stop_div() && (std::isnan(s) || s > config_.divergence_factor() * best_)) {
    result_.diverged = true;
    state.stop = true;
  }
  return absl::OkStatus();
}

void LrFinder::OnFitEnd(FitState& state, const absl::Status& outcome) {
  if (saved_.empty()) return;
  torch::NoGradGuard no_grad;
  size_t i = 0;
  for (auto& p : state.model->parameters()) p.copy_(saved_[i++]);
  for (auto& b : state.model->buffers()) b.copy_(saved_[i++]);
  state.model->zero_grad(/*set_to_none=*/true);
  saved_.clear();
}

LrFinderResult LrFinder::Result() const {
  LrFinderResult result = result_;
  const LrSuggestions suggested = SuggestLearningRates(result.lrs, result.losses);
  result.suggestion_steepest = suggested.steepest;
  result.suggestion_min_div_10 = suggested.minimum_div_10;
  return result;
}

}  // namespace malaria::training
