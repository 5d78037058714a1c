// fastai v1's Learner for the two-stage fine-tuning recipe, in LibTorch.
//
// A Learner owns a model and borrows a training and a validation loader. Fit runs one stage: it
// applies the stage's freeze_to, builds AdamW over the trainable parameters in one group per layer
// group (and per BatchNorm/other, as fastai's split_bn_bias), follows the one-cycle schedule batch
// by batch, validates after every epoch and checkpoints the last and the best epoch.
//
//   Learner learner(model, train_loader, valid_loader, options);
//   absl::StatusOr<std::vector<double>> lrs = LayerGroupLrs(stage.lr(), 3);
//   absl::StatusOr<StageResult> result = learner.Fit(stage, /*stage_index=*/0, *lrs, &callback);
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
#include "training/checkpoint.h"
#include "training/loss_scaler.h"
#include "training/training_config.pb.h"

namespace malaria::training {

class Distributed;
class GradientSync;

// Model outputs over a loader's examples, in the loader's order.
struct Predictions {
  int num_classes = 0;
  std::vector<float> probabilities;  // N x num_classes, softmax, row-major
  std::vector<int64_t> labels;
  std::vector<int> indices;   // dataset indices
  std::vector<float> losses;  // per-example cross-entropy
  double mean_loss = 0;

  int size() const { return static_cast<int>(labels.size()); }
  // Predicted returns the arg-max class of example i.
  int Predicted(int i) const;
  // Accuracy returns the fraction of examples whose arg-max class is the label.
  double Accuracy() const;
};

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
};

// Progress within an epoch, for progress displays.
struct BatchProgress {
  const std::string* stage = nullptr;
  int epoch = 0, epochs = 0;
  int batch = 0, batches = 0;  // batch is 1-based
  double smooth_loss = 0;
  double images_per_second = 0;
  double elapsed_seconds = 0;
};

// Callbacks on documented hooks; the default implementations do nothing.
class TrainingCallback {
 public:
  virtual ~TrainingCallback() = default;
  virtual void OnBatchEnd(const BatchProgress& progress) {}
  // OnEpochEnd runs after validation and checkpointing; an error stops training with it.
  virtual absl::Status OnEpochEnd(const EpochResult& result) { return absl::OkStatus(); }
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

class Learner {
 public:
  struct Options {
    torch::Device device = torch::kCPU;
    uint64_t seed = 0;
    std::string monitor = "accuracy";  // or "valid_loss"
    std::string checkpoint_dir;        // empty: no checkpoints
    std::string config_text;           // stored in every checkpoint
    Precision precision = FLOAT32;     // FLOAT16/BFLOAT16: CUDA autocast (ignored on the CPU)
    bool channels_last = false;        // NHWC weights and batches
    // Data-parallel training (training/distributed.h): the loaders are sharded by rank; Fit and
    // FindLr start from rank 0's weights, average gradients over the processes (in buckets of
    // bucket_bytes, during backward), report losses averaged over them and validate on every
    // process's share, gathered, so results equal one process's over the same data. Only rank 0
    // should get a checkpoint_dir.
    Distributed* distributed = nullptr;
    bool sync_batchnorm = false;  // BatchNorm statistics over all processes' batches
    int64_t bucket_bytes = int64_t{25} << 20;
  };

  Learner(models::Classifier model, data::BatchLoader* train, data::BatchLoader* valid,
          Options options);

  // Fit runs `stage` with maximum learning rates `lrs` (one per layer group). After every epoch it
  // writes <checkpoint_dir>/<stage>_last.pt (model, optimizer state and progress: what a resume
  // needs) and, when the epoch is the best so far, <stage>_best.pt (model and progress). With
  // `resume_from` (a _last.pt of this stage), training continues after the epochs that checkpoint
  // completed, with the model, optimizer, smoothed loss and best-so-far restored, so the rest of
  // the stage is exactly what an uninterrupted run would have done; `result->epochs` then holds
  // only the epochs run now.
  absl::StatusOr<StageResult> Fit(const StageConfig& stage, int stage_index,
                                  const std::vector<double>& lrs, TrainingCallback* callback,
                                  const std::string& resume_from = "");

  // FindLr runs fastai's lr_find with the stage's freezing and optimizer settings, then restores
  // the model's parameters and buffers exactly.
  absl::StatusOr<LrFinderResult> FindLr(const StageConfig& stage, int stage_index);

  // Predict runs the model in eval mode over every batch of `loader` (epoch 0), in this process
  // only (not a collective, whatever options().distributed). With tta_flips 1
  // (2), each batch is also run flipped horizontally (and vertically) and the softmax probabilities
  // are averaged: test-time augmentation. Losses are the cross-entropy of those probabilities.
  absl::StatusOr<Predictions> Predict(data::BatchLoader* loader, int tta_flips = 0);

  models::Classifier model() { return model_; }
  const Options& options() const { return options_; }

 private:
  struct Batch;
  Batch ToDevice(data::Batch& batch) const;
  // Step runs one optimisation step and returns the batch's loss; a non-finite loss (or, with
  // float16, overflowing gradients) skips the update.
  double Step(torch::optim::Optimizer& optimizer, const Batch& batch);
  // With options().distributed: starts every process from rank 0's weights and buffers and
  // returns the gradient averaging for the trainable parameters (else nullptr).
  std::unique_ptr<GradientSync> Synchronize();
  // StopRequested: an interrupt, agreed by every process when distributed.
  bool StopRequested() const;
  // PredictValidation: Predict on the validation loader, gathered from every process.
  absl::StatusOr<Predictions> PredictValidation();

  models::Classifier model_;
  data::BatchLoader* train_;
  data::BatchLoader* valid_;
  Options options_;
  std::shared_ptr<DynamicLossScaler> scaler_;  // float16 on CUDA only
  GradientSync* sync_ = nullptr;               // during Fit and FindLr, when distributed
  bool interrupt_agreed_ = false;              // set by Step when distributed
};

// ResolveDevice returns the device for `device`: CUDA when asked for or (AUTO) when available.
// FailedPrecondition for CUDA when LibTorch has no CUDA or no GPU is present.
absl::StatusOr<torch::Device> ResolveDevice(Device device);

}  // namespace malaria::training

#endif  // MALARIA_TRAINING_LEARNER_H_
