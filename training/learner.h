// fastai v1's Learner for the two-stage fine-tuning recipe, in LibTorch.
//
// A Learner owns a model and borrows a training and a validation loader. Fit runs one stage: it
// applies the stage's freeze_to, builds AdamW over the trainable parameters in one group per layer
// group (and per BatchNorm/other, as fastai's split_bn_bias) and trains epoch by epoch, validating
// after each; everything else a stage does (the one-cycle schedule, checkpoints, best epochs,
// interrupts, NaN checks, data-parallel synchronisation, progress, records) is a callback on the
// hooks of training/callback.h.
//
//   absl::StatusOr<Learner::Options> options = BuildLearnerOptions(config.training(), seed,
//   device); Learner learner(model, train_loader, valid_loader, *options);
//   absl::StatusOr<std::vector<double>> lrs = LayerGroupLrs(stage.lr(), models::kNumLayerGroups);
//   absl::StatusOr<StageResult> result = learner.Fit(stage, /*stage_index=*/0, *lrs, {&printer});
//
// Batches take the model's floating-point type: float32 normally; a model converted to float64
// (`model->to(torch::kDouble)`) trains and predicts in float64 throughout, which the numerical
// tests use to check equivalences (data-parallel against one process) far below float32's
// rounding, on any host.
//
// Errors: a NaN or infinite loss stops the stage (FailedPrecondition, naming stage, epoch and
// batch); an interrupt (training/interrupt.h) stops it after the current batch (Cancelled). Both
// leave the checkpoints of the last completed epoch in place.
#ifndef MALARIA_TRAINING_LEARNER_H_
#define MALARIA_TRAINING_LEARNER_H_

#include <torch/optim/optimizer.h>
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
#include "training/checkpoint.h"
#include "training/interrupt.h"
#include "training/loss_scaler.h"
#include "training/training_config.h"
#include "training/training_config.pb.h"

namespace malaria::training {

class Distributed;

class Learner {
 public:
  struct Options {
    torch::Device device = torch::kCPU;
    uint64_t seed = 0;
    Monitor monitor = Monitor::kAccuracy;  // picks each stage's best epoch
    std::string checkpoint_dir;            // empty: no checkpoints
    std::string config_text;               // stored in every checkpoint
    Precision precision = FLOAT32;         // FLOAT16/BFLOAT16: CUDA autocast (ignored on the CPU)
    bool channels_last = false;            // NHWC weights and batches
    double loss_smoothing_beta = 0.98;     // of the training loss shown and recorded
    double label_smoothing = 0;            // of the cross-entropy's targets (training/mixup.h)
    double mixup_alpha = 0;                // 0: no mixup (training/mixup.h)
    // A second model of the same architecture turns on the weight average (training/ema.h): it
    // holds the average, with ema_decay, and is the model validated, checkpointed (the raw
    // weights beside it) and handed on at the end of a stage; the raw weights' accuracy is
    // reported too (EpochResult::raw_accuracy). BuildLearnerOptions leaves it to the caller.
    models::Classifier ema_model{nullptr};
    double ema_decay = 0;
    // PreciseBN before every validation (models::RecomputeBatchNormStatistics): 0 off.
    int precise_bn_batches = 0;
    // Data-parallel training (training/distributed.h): the loaders are sharded by rank; Fit and
    // FindLr start from rank 0's weights, average gradients over the processes (in buckets of
    // bucket_bytes, during backward), report losses averaged over them and validate on every
    // process's share, gathered, so results equal one process's over the same data. Only rank 0
    // should get a checkpoint_dir.
    Distributed* distributed = nullptr;
    bool sync_batchnorm = false;  // BatchNorm statistics over all processes' batches
    int64_t bucket_bytes = int64_t{25} << 20;
    // Asked before every batch whether a stop was requested (Ctrl-C); tests replace it.
    bool (*interrupt_requested)() = &InterruptRequested;
  };

  Learner(models::Classifier model, data::BatchLoader* train, data::BatchLoader* valid,
          Options options);

  // Fit runs `stage` with maximum learning rates `lrs` (one per layer group): freeze_to, AdamW
  // over the trainable parameters, then the epochs, validating after each. Around the caller's
  // `callbacks` it runs its own, in this order:
  //   OneCycleScheduler    sets every batch's learning rates and momentum
  //   DistributedSync      (data-parallel only) shares weights, losses, interrupts, gradients
  //   NonFiniteLossGuard   stops the stage at a NaN or infinite loss
  //   WeightAverage        (with ema_model) folds every step into the weight average
  //   BestEpochTracker     marks the best epoch by options().monitor
  //   ...callbacks...      the caller's: progress display, the run's record
  //   CheckpointSaver      (with a checkpoint_dir) <stage>_last.pt and <stage>_best.pt
  //   InterruptCheck       stops after the batch, or the epoch, a stop was asked in
  // With `resume_from` (a _last.pt of this stage), training continues after the epochs that
  // checkpoint completed, with the model, optimizer, smoothed loss and best-so-far restored, so the
  // rest of the stage is exactly what an uninterrupted run would have done; `result->epochs` then
  // holds only the epochs run now.
  absl::StatusOr<StageResult> Fit(const StageConfig& stage, int stage_index,
                                  const std::vector<double>& lrs,
                                  const std::vector<Callback*>& callbacks = {},
                                  const std::string& resume_from = "");

  // FindLr runs fastai's lr_find with the stage's freezing and optimizer settings, then restores
  // the model's parameters and buffers exactly. Data-parallel synchronisation and interrupts work
  // as in Fit.
  absl::StatusOr<LrFinderResult> FindLr(const StageConfig& stage, int stage_index);

  // Predict runs the model in eval mode over every batch of `loader` (epoch 0), in this process
  // only (not a collective, whatever options().distributed). With tta_flips 1-3, each batch is
  // also run flipped (training/tta.h: 1 horizontally, 2 and vertically, 3 all eight symmetries of
  // the square) and the softmax probabilities are averaged: test-time augmentation. Losses are
  // the cross-entropy of those probabilities.
  absl::StatusOr<Predictions> Predict(data::BatchLoader* loader, int tta_flips = 0);

  models::Classifier model() { return model_; }
  const Options& options() const { return options_; }

 private:
  struct Batch;
  Batch ToDevice(data::Batch& batch) const;
  // Step runs one optimisation step on `batch` with `callbacks`' OnLoss and OnBackwardEnd: the
  // forward pass sets state.loss; a skipped step (state.skip_step, a non-finite loss, or with
  // float16 overflowing gradients) leaves the weights as they were.
  absl::Status Step(torch::optim::Optimizer& optimizer, const Batch& batch, CallbackList& callbacks,
                    FitState& state);
  // The data-parallel callback, when options().distributed is set (else nullptr).
  std::unique_ptr<Callback> MakeDistributedSync() const;
  // PredictWith: Predict with `model`.
  absl::StatusOr<Predictions> PredictWith(models::Classifier& model, data::BatchLoader* loader,
                                          int tta_flips);
  // PredictValidation: `model` on the validation loader, gathered from every process.
  absl::StatusOr<Predictions> PredictValidation(models::Classifier& model);
  // PreciseBatchNorm recomputes `model`'s BatchNorm statistics from precise_bn_batches training
  // batches (their own loader epoch, so the stage's sample order is untouched).
  absl::Status PreciseBatchNorm(models::Classifier& model, int stage_index, int epoch);

  models::Classifier model_;
  data::BatchLoader* train_;
  data::BatchLoader* valid_;
  Options options_;
  torch::Dtype dtype_;                         // of the model's parameters, and so of every batch
  std::shared_ptr<DynamicLossScaler> scaler_;  // float16 on CUDA only
};

// BuildLearnerOptions returns the options `config` (training.*) describes for a model on `device`,
// with `seed` for the generators: monitor, precision, channels-last, loss smoothing and the
// data-parallel settings. The caller adds checkpoint_dir, config_text and distributed.
// InvalidArgument naming the field for a monitor it does not know, or CUDA mixed precision on
// another device.
absl::StatusOr<Learner::Options> BuildLearnerOptions(const TrainingConfig& config, uint64_t seed,
                                                     const torch::Device& device);

// ResolveDevice returns the device for `device`: CUDA when asked for or (AUTO) when available.
// FailedPrecondition for CUDA when LibTorch has no CUDA or no GPU is present.
absl::StatusOr<torch::Device> ResolveDevice(Device device);

}  // namespace malaria::training

#endif  // MALARIA_TRAINING_LEARNER_H_
