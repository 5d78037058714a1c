#include "training/lookahead.h"

#include <torch/torch.h>

#include "absl/strings/str_cat.h"
#include "base/problems.h"
#include "training/ingredient.h"
#include "training/training_config.h"

namespace malaria::training {

absl::Status Lookahead::OnFitBegin(FitState& state) {
  fast_.clear();
  slow_.clear();
  updates_ = 0;
  if (state.finder || state.model == nullptr) return absl::OkStatus();
  torch::NoGradGuard no_grad;
  for (const torch::Tensor& p : state.model->parameters()) {
    if (!p.requires_grad()) continue;
    fast_.push_back(p);
    slow_.push_back(p.detach().clone());
  }
  return absl::OkStatus();
}

absl::Status Lookahead::OnBatchEnd(FitState& state) {
  if (fast_.empty() || state.skip_step) return absl::OkStatus();
  if (++updates_ % steps_ != 0) return absl::OkStatus();
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < fast_.size(); ++i) {
    slow_[i].add_(fast_[i] - slow_[i], alpha_);
    fast_[i].copy_(slow_[i]);
  }
  return absl::OkStatus();
}

void Lookahead::OnFitEnd(FitState& state, const absl::Status& outcome) {
  fast_.clear();
  slow_.clear();
}

absl::Status AddLookahead(const TrainingConfig& config, const IngredientContext& context,
                          std::vector<std::unique_ptr<Callback>>* out) {
  const LookaheadConfig& c = config.lookahead();
  base::ConfigProblems problems;
  ValidateLookahead(c, problems.In("training.lookahead"));
  if (!problems.empty()) return absl::InvalidArgumentError(problems.lines().front());
  if (c.steps() > 0) out->push_back(std::make_unique<Lookahead>(c.steps(), c.alpha()));
  return absl::OkStatus();
}

}  // namespace malaria::training
