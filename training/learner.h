// fastai v1's Learner for the two-stage fine-tuning recipe, in LibTorch: the training loop.
//
// A Learner owns a model and the run's training ingredients (training/ingredients.h: the loss
// and the callbacks built from the config), and borrows a training and a validation loader. Fit
// runs one stage: it applies the stage's freeze_to, builds AdamW over the trainable parameters in
// one group per layer group (and per BatchNorm/other, as fastai's split_bn_bias) and trains epoch
// by epoch, validating after each. Everything else a stage does is a callback on the hooks of
// training/callback.h; the learning-rate finder is the same loop with a finder callback.
//
//   absl::StatusOr<TrainingCallbacks> ingredients = BuildCallbacks(config.training(), context);
//   Learner::Options options = BuildLearnerOptions(config.training(), seed, device);
//   Learner learner(model, &train_loader, &valid_loader, options, *std::move(ingredients));
//   absl::StatusOr<std::vector<double>> lrs = LayerGroupLrs(stage.lr(), models::kNumLayerGroups);
//   absl::StatusOr<StageResult> result = learner.Fit(stage, /*stage_index=*/0, *lrs, {&printer});
//
// Batches take the model's floating-point type: float32 normally; a model converted to float64
// trains and predicts in float64 throughout, which the numerical tests use to check equivalences
// (data-parallel against one process) far below float32's rounding, on any host.
//
// Errors: a NaN or infinite loss stops the stage (FailedPrecondition, naming stage, epoch and
// batch); an interrupt (base/interrupt.h) stops it after the current batch (Cancelled); an
// exception from LibTorch inside the loop ends it as Internal, naming stage, epoch and batch. All
// leave the checkpoints of the last completed epoch in place, and every callback's OnFitEnd runs.
#ifndef MALARIA_TRAINING_LEARNER_H_
#define MALARIA_TRAINING_LEARNER_H_

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "data/loader.h"
#include "models/classifier.h"
#include "training/callback.h"
#include "training/ingredient.h"
#include "training/step.h"
#include "training/training_config.pb.h"

namespace malaria::training {

class Distributed;
struct LayerGroupOptimizer;  // training/optimizer.h

class Learner {
 public:
  // What the loop needs beyond its ingredients: where it computes, its seed, where its
  // checkpoints go and its process group.
  struct Options {
    torch::Device device = torch::kCPU;
    // NHWC weights and batches (training.channels_last; this default is the proto's).
    bool channels_last = TrainingConfig::default_instance().channels_last();
    uint64_t seed = 0;
    std::string checkpoint_dir;  // empty: no checkpoints
    std::string config_text;     // stored in every checkpoint
    // Data-parallel training (training/distributed.h): the loaders are sharded by rank and
    // validation is gathered from every process's share, so results equal one process's over the
    // same data; the ingredients' GradientSync does the rest. Only rank 0 should get a
    // checkpoint_dir.
    Distributed* distributed = nullptr;
  };

  Learner(models::Classifier model, data::BatchLoader* train, data::BatchLoader* valid,
          Options options, TrainingCallbacks ingredients = {});

  // Fit runs `stage` with maximum learning rates `lrs` (one per layer group): freeze_to, AdamW
  // over the trainable parameters, then the epochs, validating after each. Its callbacks run in
  // this order:
  //   OneCycleScheduler    sets every batch's learning rates and momentum
  //   ...ingredients...    in the registry's order (training/ingredients.h)
  //   NonFiniteLossGuard   stops the stage at a NaN or infinite loss
  //   ...callbacks...      the caller's: progress display, the run's record
  //   CheckpointSaver      (with a checkpoint_dir) <stage>_last.pt and <stage>_best.pt
  //   InterruptCheck       stops after the batch, or the epoch, a stop was asked in
  // With `resume_from` (a _last.pt of this stage), training continues after the epochs that
  // checkpoint completed, with the models, optimizer, smoothed loss and best-so-far restored, so
  // the rest of the stage is exactly what an uninterrupted run would have done; `result->epochs`
  // then holds only the epochs run now.
  absl::StatusOr<StageResult> Fit(const StageConfig& stage, int stage_index,
                                  const std::vector<double>& lrs,
                                  const std::vector<Callback*>& callbacks = {},
                                  const std::string& resume_from = "");

  // FindLr runs fastai's lr_find with the stage's freezing and optimizer settings: the loop with
  // training/lr_finder.h's LrFinder in place of the schedule (and without the guard, the
  // checkpoints or validation), then the model's parameters and buffers restored exactly.
  absl::StatusOr<LrFinderResult> FindLr(const StageConfig& stage, int stage_index);

  // For callbacks (FitState::learner):
  // The weights the optimizer steps.
  models::Classifier model() { return model_; }
  // The model validated, checkpointed, handed on and predicted with: the model, unless an
  // ingredient keeps another (the weight average sets its average for a stage).
  models::Classifier validated_model() { return validated_; }
  void SetValidatedModel(models::Classifier model) { validated_ = std::move(model); }
  data::BatchLoader* train_loader() { return train_; }
  // Inputs returns `batch`'s images and labels on the device, in the model's floating-point
  // type and memory layout (views of the batch's buffers on the CPU).
  StepTensors Inputs(data::Batch& batch) const;
  // Validate returns `model`'s predictions on the validation loader, gathered from every
  // process in a data-parallel run.
  absl::StatusOr<Predictions> Validate(models::Classifier& model);
  const Options& options() const { return options_; }

 private:
  // What one run of the loop does: a stage's epochs (Fit), or the finder's sweep (FindLr).
  struct Loop {
    int epochs = 0;                // passes over the training data at most
    int64_t total_iterations = 0;  // FitState::total_iterations
    bool finder = false;           // no validation; the finder's data and seeds
  };
  // RunLoop is the one training loop of Fit and FindLr: the set-up (freezing, the optimizer,
  // OnFitBegin, a resume), the epochs, and OnFitEnd however they end (LibTorch's exceptions
  // included).
  absl::StatusOr<StageResult> RunLoop(const StageConfig& stage, int stage_index,
                                      const std::vector<double>& lrs, const Loop& loop,
                                      CallbackList& list, const std::string& resume_from);
  // Resume loads `path` (a _last.pt of this stage) into the models and optimizer, and sets
  // state.progress from it.
  absl::Status Resume(const std::string& path, FitState& state);
  // Epochs runs the loop's epochs from the one after state.progress.epochs_completed.
  absl::Status Epochs(const StageConfig& stage, const Loop& loop, LayerGroupOptimizer& optimizer,
                      CallbackList& list, FitState& state, StageResult& result);
  // Validation validates the validated model after an epoch into `r` (OnValidateBegin, the
  // predictions, OnValidateEnd).
  absl::Status Validation(CallbackList& list, FitState& state, EpochResult& r);
  // Step runs one optimisation step on state.step with `list`'s hooks: the forward pass sets
  // state.loss; a skipped step (state.skip_step, a non-finite loss, or with float16 overflowing
  // gradients) leaves the weights as they were.
  absl::Status Step(LayerGroupOptimizer& optimizer, CallbackList& list, FitState& state);
  // PredictWith runs `model` in eval mode over every batch of `loader` (epoch 0), in this process
  // only, with the ingredients' forward hooks (mixed precision) around each forward pass.
  absl::StatusOr<Predictions> PredictWith(models::Classifier& model, data::BatchLoader* loader);

  models::Classifier model_;
  models::Classifier validated_{nullptr};
  data::BatchLoader* train_;
  data::BatchLoader* valid_;
  Options options_;
  TrainingCallbacks ingredients_;
  torch::Dtype dtype_;  // of the model's parameters, and so of every batch
};

// BuildLearnerOptions returns the options `config` (training.*) describes for a model on `device`,
// with `seed`: the device, the seed and channels-last. The caller adds checkpoint_dir,
// config_text and distributed.
Learner::Options BuildLearnerOptions(const TrainingConfig& config, uint64_t seed,
                                     const torch::Device& device);

// ResolveDevice returns the device for `device`: CUDA when asked for or (AUTO) when available.
// FailedPrecondition for CUDA when LibTorch has no CUDA or no GPU is present.
absl::StatusOr<torch::Device> ResolveDevice(Device device);

}  // namespace malaria::training

#endif  // MALARIA_TRAINING_LEARNER_H_
