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
  EpochResult& r = *state.epoch_result;
  const bool higher_is_better = monitor_ == Monitor::kAccuracy;
  const double value = higher_is_better ? r.accuracy : r.valid_loss;
  TrainingProgress& p = state.progress;
  r.is_best = p.best_epoch == 0 || (higher_is_better ? value > p.best_value : value < p.best_value);
  if (r.is_best) {
    p.best_value = value;
    p.best_epoch = r.epoch;
  }
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
