// The learner's callbacks that need no LibTorch, each one concern of a stage: the one-cycle
// schedule, the non-finite loss guard and interrupts (Learner::Fit's own), and two training
// ingredients built from the config (training/ingredients.h): the smoothed training loss and
// best-epoch tracking.
//
//   OneCycleScheduler scheduler(*BuildSchedule(stage, lrs, total));
//   BestEpochTracker best(TrainingConfig::ACCURACY);
//   CallbackList list({&scheduler, &smoothing, &best, &guard, &recorder, &saver, &interrupts});
#ifndef MALARIA_TRAINING_CALLBACKS_H_
#define MALARIA_TRAINING_CALLBACKS_H_

#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "training/callback.h"
#include "training/schedule.h"
#include "training/training_config.pb.h"

namespace malaria::training {

struct IngredientContext;  // training/ingredient.h

// Sets each batch's learning rate per layer group and momentum from a stage's one-cycle schedule
// (OnBatchBegin: state.lrs, state.mom for state.iteration).
class OneCycleScheduler : public Callback {
 public:
  explicit OneCycleScheduler(StageSchedule schedule) : schedule_(std::move(schedule)) {}
  absl::Status OnBatchBegin(FitState& state) override;

 private:
  StageSchedule schedule_;
};

// Stops the stage when a batch's loss is NaN or infinite (OnLoss: FailedPrecondition naming the
// stage, epoch and batch). The learner never steps on such a loss; this makes it the run's end,
// with the checkpoints of the last completed epoch kept.
class NonFiniteLossGuard : public Callback {
 public:
  absl::Status OnLoss(FitState& state) override;
};

// Decides whether each epoch is the best of the stage so far by `metric`
// (training.best_epoch_by), and keeps the best value and epoch in state.progress (OnEpochEnd:
// sets epoch_result->is_best). The first epoch of a stage is always the best so far; ties keep
// the earlier epoch.
class BestEpochTracker : public Callback {
 public:
  explicit BestEpochTracker(TrainingConfig::Metric metric) : metric_(metric) {}
  absl::Status OnEpochEnd(FitState& state) override;

 private:
  TrainingConfig::Metric metric_;
};

// fastai's smoothed training loss (training.loss_smoothing_beta): after every batch of a stage,
// state.smooth_loss is the exponential moving average of the losses so far, debiased
// (SmoothedValue); its state lives in state.progress, so a checkpoint saves it and a resumed
// stage continues it.
class LossSmoothing : public Callback {
 public:
  explicit LossSmoothing(double beta) : beta_(beta) {}
  absl::Status OnBatchEnd(FitState& state) override;

 private:
  double beta_;
};

// AddLossSmoothing adds a LossSmoothing with training.loss_smoothing_beta.
absl::Status AddLossSmoothing(const TrainingConfig& config, const IngredientContext& context,
                              std::vector<std::unique_ptr<Callback>>* out);

// AddBestEpochTracker adds a BestEpochTracker by training.best_epoch_by.
absl::Status AddBestEpochTracker(const TrainingConfig& config, const IngredientContext& context,
                                 std::vector<std::unique_ptr<Callback>>* out);

// Turns an interrupt (state.interrupt_requested) into the stage's end: Cancelled after the batch
// it arrived in (OnBatchEnd) or after a completed epoch (OnEpochEnd; put it after the checkpoint
// saver so that epoch is kept). `poll`, when given, is asked too at those two points: a single
// process looks at its own signal flag there; a data-parallel job must act only on what its
// processes agreed (state.interrupt_requested after OnLoss), so it passes none.
class InterruptCheck : public Callback {
 public:
  explicit InterruptCheck(bool (*poll)() = nullptr) : poll_(poll) {}
  absl::Status OnBatchEnd(FitState& state) override;
  absl::Status OnEpochEnd(FitState& state) override;

 private:
  bool (*poll_)();
};

}  // namespace malaria::training

#endif  // MALARIA_TRAINING_CALLBACKS_H_
