#include "training/callbacks.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace malaria::training {

absl::Status OneCycleScheduler::OnBatchBegin(FitState& state) {
  StageSchedule::Point p = schedule_.At(state.iteration);
  state.lrs = std::move(p.lrs);
  state.mom = p.mom;
  return absl::OkStatus();
}

absl::Status NonFiniteLossGuard::OnLoss(FitState& state) {
  if (std::isfinite(state.loss)) return absl::OkStatus();
  state.skip_step = true;
  return absl::FailedPreconditionError(
      absl::StrCat("stage '", state.stage->name(), "' epoch ", state.epoch, " batch ", state.batch,
                   ": the training loss is ", state.loss,
                   "; training stopped (the checkpoints of the last completed epoch are kept)"));
}

absl::Status BestEpochTracker::OnEpochEnd(FitState& state) {
  if (state.finder) return absl::OkStatus();
  EpochResult& r = *state.epoch_result;
  const bool higher_is_better = metric_ == TrainingConfig::ACCURACY;
  const double value = higher_is_better ? r.accuracy : r.valid_loss;
  TrainingProgress& p = state.progress;
  r.is_best = p.best_epoch == 0 || (higher_is_better ? value > p.best_value : value < p.best_value);
  if (r.is_best) {
    p.best_value = value;
    p.best_epoch = r.epoch;
  }
  return absl::OkStatus();
}

absl::Status LossSmoothing::OnBatchEnd(FitState& state) {
  if (state.finder) return absl::OkStatus();
  SmoothedValue smooth(beta_);
  TrainingProgress& p = state.progress;
  smooth.Restore(p.smooth_mov_avg, p.smooth_count);
  state.smooth_loss = smooth.Add(state.loss);
  p.smooth_mov_avg = smooth.moving_average();
  p.smooth_count = smooth.count();
  return absl::OkStatus();
}

absl::Status AddLossSmoothing(const TrainingConfig& config, const IngredientContext& context,
                              std::vector<std::unique_ptr<Callback>>* out) {
  out->push_back(std::make_unique<LossSmoothing>(config.loss_smoothing_beta()));
  return absl::OkStatus();
}

absl::Status AddBestEpochTracker(const TrainingConfig& config, const IngredientContext& context,
                                 std::vector<std::unique_ptr<Callback>>* out) {
  out->push_back(std::make_unique<BestEpochTracker>(config.best_epoch_by()));
  return absl::OkStatus();
}

absl::Status InterruptCheck::OnBatchEnd(FitState& state) {
  if (poll_ != nullptr && poll_()) state.interrupt_requested = true;
  if (!state.interrupt_requested) return absl::OkStatus();
  if (state.finder) return absl::CancelledError("interrupted during the learning-rate finder");
  return absl::CancelledError(absl::StrCat("interrupted during stage '", state.stage->name(),
                                           "' epoch ", state.epoch, " batch ", state.batch));
}

absl::Status InterruptCheck::OnEpochEnd(FitState& state) {
  if (poll_ != nullptr && poll_()) state.interrupt_requested = true;
  if (!state.interrupt_requested) return absl::OkStatus();
  return absl::CancelledError(
      absl::StrCat("interrupted after stage '", state.stage->name(), "' epoch ", state.epoch));
}

}  // namespace malaria::training
