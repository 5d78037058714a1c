// The learner's callback interface (fastai v1's Callback and CallbackHandler, typed): the hooks a
// Fit calls in a documented order, the state it shares with them, and what it hands back. No
// LibTorch here, so the components that only record and show training (the run recorder, the
// progress printer) compile without it.
//
// One stage, as Learner::Fit runs it (the learning-rate finder runs the same loop, with
// state.finder set and no validation):
//
//   OnFitBegin         (set-up: before a resumed stage's checkpoint is loaded)
//   for each epoch:    OnEpochBegin
//     for each batch:  OnBatchBegin     (set state.lrs and state.mom: the scheduler; may change
//                                        the batch in state.step: mixup)
//                      OnForwardBegin   forward pass, state.step->logits   OnForwardEnd
//                      the loss, state.loss
//                      OnLoss           (may set state.skip_step: no backward, no update)
//                      OnBackwardBegin  (may scale state.step->loss)
//                      backward pass
//                      OnBackwardEnd    (gradients exist; may set state.skip_step; the update
//                                        follows unless skipped)
//                      OnBatchEnd       (may set state.stop: the loop ends after this batch)
//     OnValidateBegin  validation of the model kept   OnValidateEnd (state.epoch_result)
//     OnEpochEnd       (state.epoch_result)
//   OnFitEnd           (always, with how the stage ended: errors, interrupts, LibTorch's
//                       exceptions; teardown)
//
// Any hook that returns an error stops the stage with that error: Cancelled means interrupted,
// anything else failed. Callbacks run in the order they are given; Learner::Fit documents where
// its own (the schedule, the non-finite loss guard, checkpoints, interrupts) sit among the
// training ingredients (training/ingredients.h) and the caller's.
//
//   struct PrintLoss : Callback {
//     absl::Status OnBatchEnd(FitState& s) override {
//       std::printf("%d %f\n", s.batch, s.loss);
//       return absl::OkStatus();
//     }
//   };
#ifndef MALARIA_TRAINING_CALLBACK_H_
#define MALARIA_TRAINING_CALLBACK_H_

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "inference/predictions.h"

namespace torch::nn {
class Module;
}
namespace torch::optim {
class Optimizer;
}

namespace malaria::training {

class StageConfig;   // training_config.proto
class Learner;       // training/learner.h
struct StepTensors;  // training/step.h: the batch's tensors, with LibTorch

// Model outputs over a loader's examples (inference/predictions.h).
using Predictions = inference::Predictions;

// One finished epoch, as fastai's table shows it and more.
struct EpochResult {
  std::string stage;
  int stage_index = 0;
  int epoch = 0;          // 1-based within the stage
  int epochs = 0;         // of the stage
  double train_loss = 0;  // fastai's smoothed training loss at the epoch's end
  double valid_loss = 0;
  double accuracy = 0;
  double error_rate = 0;
  std::vector<double> lrs;  // per layer group, at the epoch's last batch
  double mom = 0;
  double seconds = 0;  // training and validation
  double train_images_per_second = 0;
  bool is_best = false;  // best of the stage so far by the monitored metric
  Predictions valid;
  // With a weight average (the model validated above), the raw weights' results; NaN otherwise.
  double raw_accuracy = std::nan("");
  double raw_valid_loss = std::nan("");
  // The epoch's compute (training/compute_meter.h): 3 x forward FLOPs of the images trained (the
  // learning-rate finder's before it included), and validation's FLOPs (PreciseBN included).
  double train_flops = 0;
  double eval_flops = 0;
};

struct StageResult {
  std::vector<EpochResult> epochs;
  std::vector<double> lrs;  // the maximum learning rate of each layer group
  int best_epoch = 0;       // 1-based
};

// The learning-rate finder's curve and suggestions.
struct LrFinderResult {
  std::vector<double> lrs;
  std::vector<double> losses;  // smoothed, as fastai plots them
  std::vector<double> raw_losses;
  double suggestion_steepest = 0;    // fastai v1: steepest descent of the smoothed loss
  double suggestion_min_div_10 = 0;  // a tenth of the learning rate at the minimum
  bool diverged = false;             // stopped because the loss exploded
};

// Where training stood after a completed epoch: what a checkpoint saves for an exact resume.
struct TrainingProgress {
  int stage_index = 0;
  int epochs_completed = 0;   // of that stage
  double smooth_mov_avg = 0;  // the smoothed training loss's state
  int64_t smooth_count = 0;
  double best_value = 0;  // of the monitored metric, this stage
  int best_epoch = 0;
};

// What a Fit (or the learning-rate finder) shares with its callbacks.
struct FitState {
  // Set by the learner.
  const StageConfig* stage = nullptr;
  int stage_index = 0;
  bool finder = false;         // the learning-rate finder's sweep rather than a stage
  int epoch = 0, epochs = 0;   // 1-based
  int batch = 0, batches = 0;  // 1-based, within the epoch
  int64_t iteration = 0, total_iterations = 0;  // 0-based batch of the stage, and their number
  int batch_size = 0;                           // this process's batch
  int image_size = 0;                           // its images' side (progressive_resize)
  int world_size = 1;                           // processes training together
  double loss = 0;           // this batch's loss (from OnLoss on: the mean over the processes)
  double smooth_loss = 0;    // fastai's smoothed training loss, after the batch
  double epoch_seconds = 0;  // since the epoch began
  // A stop was asked for (Ctrl-C, SIGTERM): set before OnLoss from this process's signal flag;
  // in a data-parallel job the processes agree on it in OnLoss.
  bool interrupt_requested = false;
  TrainingProgress progress;            // updated as epochs complete
  EpochResult* epoch_result = nullptr;  // OnValidateEnd and OnEpochEnd only
  torch::nn::Module* model = nullptr;   // the weights the optimizer steps
  torch::optim::Optimizer* optimizer = nullptr;
  Learner* learner = nullptr;   // the loop: its models, loaders and validation
  StepTensors* step = nullptr;  // from OnBatchBegin to OnBatchEnd: this batch's tensors

  // Set by callbacks.
  std::vector<double> lrs;  // per layer group, for this batch (OnBatchBegin)
  double mom = 0;           // Adam's beta1 for this batch (OnBatchBegin)
  bool skip_step = false;   // OnLoss or OnBackwardEnd: this batch gets no update
  bool stop = false;        // OnBatchEnd: the loop ends after this batch, successfully (the finder)
};

class Callback {
 public:
  virtual ~Callback() = default;
  virtual absl::Status OnFitBegin(FitState& state) { return absl::OkStatus(); }
  virtual absl::Status OnEpochBegin(FitState& state) { return absl::OkStatus(); }
  virtual absl::Status OnBatchBegin(FitState& state) { return absl::OkStatus(); }
  virtual absl::Status OnForwardBegin(FitState& state) { return absl::OkStatus(); }
  virtual absl::Status OnForwardEnd(FitState& state) { return absl::OkStatus(); }
  virtual absl::Status OnLoss(FitState& state) { return absl::OkStatus(); }
  virtual absl::Status OnBackwardBegin(FitState& state) { return absl::OkStatus(); }
  virtual absl::Status OnBackwardEnd(FitState& state) { return absl::OkStatus(); }
  virtual absl::Status OnBatchEnd(FitState& state) { return absl::OkStatus(); }
  virtual absl::Status OnValidateBegin(FitState& state) { return absl::OkStatus(); }
  virtual absl::Status OnValidateEnd(FitState& state) { return absl::OkStatus(); }
  virtual absl::Status OnEpochEnd(FitState& state) { return absl::OkStatus(); }
  // OnFitEnd runs however the stage ended (`outcome`), for teardown.
  virtual void OnFitEnd(FitState& state, const absl::Status& outcome) {}
};

// Calls one hook on each callback in order; the first error stops and is returned.
class CallbackList {
 public:
  explicit CallbackList(std::vector<Callback*> callbacks);
  absl::Status FitBegin(FitState& s);
  absl::Status EpochBegin(FitState& s);
  absl::Status BatchBegin(FitState& s);
  absl::Status ForwardBegin(FitState& s);
  absl::Status ForwardEnd(FitState& s);
  absl::Status Loss(FitState& s);
  absl::Status BackwardBegin(FitState& s);
  absl::Status BackwardEnd(FitState& s);
  absl::Status BatchEnd(FitState& s);
  absl::Status ValidateBegin(FitState& s);
  absl::Status ValidateEnd(FitState& s);
  absl::Status EpochEnd(FitState& s);
  // FitEnd calls every callback's OnFitEnd, in reverse order (teardown).
  void FitEnd(FitState& s, const absl::Status& outcome);

 private:
  template <typename Hook>
  absl::Status Each(FitState& s, Hook hook);
  std::vector<Callback*> callbacks_;
};

}  // namespace malaria::training

#endif  // MALARIA_TRAINING_CALLBACK_H_
