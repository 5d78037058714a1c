#include "training/learner.h"

#include <ATen/autocast_mode.h>
#include <torch/cuda.h>
#include <torch/nn/functional/loss.h>
#include <torch/utils.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>

#include "absl/strings/str_cat.h"
#include "data/random.h"
#include "glog/logging.h"
#include "training/callbacks.h"
#include "training/data_parallel.h"
#include "training/distributed.h"
#include "training/ema.h"
#include "training/interrupt.h"
#include "training/mixup.h"
#include "training/optimizer.h"
#include "training/schedule.h"
#include "training/tta.h"

namespace malaria::training {
namespace {

namespace F = torch::nn::functional;
using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Autocast for the forward pass, on CUDA with a half-precision type (restored on scope exit).
class AutocastScope {
 public:
  AutocastScope(Precision precision, const torch::Device& device)
      : enabled_(precision != FLOAT32 && device.is_cuda()) {
    if (!enabled_) return;
    at::autocast::set_autocast_gpu_dtype(precision == FLOAT16 ? at::kHalf : at::kBFloat16);
    at::autocast::set_enabled(true);
    at::autocast::increment_nesting();
  }
  ~AutocastScope() {
    if (!enabled_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    at::autocast::set_enabled(false);
  }

 private:
  bool enabled_;
};

// Logits as the loss and the probabilities take them: float32 from half-precision autocast,
// float64 from a float64 model.
torch::Tensor AtLeastFloat(const torch::Tensor& logits) {
  return logits.scalar_type() == torch::kDouble ? logits : logits.to(torch::kFloat);
}

// The floating-point type of `model`'s parameters (float32 for a model without any).
torch::Dtype ParameterType(models::Classifier& model) {
  for (const torch::Tensor& p : model->parameters()) {
    if (p.is_floating_point()) return p.scalar_type();
  }
  return torch::kFloat;
}

}  // namespace

struct Learner::Batch {
  torch::Tensor images;
  torch::Tensor labels;
};

Learner::Batch Learner::ToDevice(data::Batch& batch) const {
  const int64_t s = batch.image_size;
  torch::Tensor images =
      torch::from_blob(batch.pixels.data(), {batch.size, 3, s, s}, torch::kFloat);
  torch::Tensor labels = torch::from_blob(batch.labels.data(), {batch.size}, torch::kLong);
  if (dtype_ != torch::kFloat) images = images.to(dtype_);
  if (options_.channels_last) images = images.contiguous(torch::MemoryFormat::ChannelsLast);
  if (options_.device.is_cpu()) return {images, labels};
  return {images.to(options_.device), labels.to(options_.device)};
}

absl::Status Learner::Step(torch::optim::Optimizer& optimizer, const Batch& batch,
                           CallbackList& callbacks, FitState& state) {
  // Mixup's draws are keyed by the batch, so a resumed run mixes exactly as an uninterrupted one.
  const MixedBatch mixed =
      options_.mixup_alpha > 0
          ? Mixup(batch.images, batch.labels, options_.mixup_alpha,
                  data::MixSeed(options_.seed, data::kMixupStream, state.stage_index,
                                state.finder ? 1 : 0, state.iteration))
          : NotMixed(batch.images, batch.labels);
  torch::Tensor logits;
  {
    AutocastScope autocast(options_.precision, options_.device);
    logits = model_->forward(mixed.images);
  }
  torch::Tensor loss = MixedCrossEntropy(AtLeastFloat(logits), mixed, options_.label_smoothing);
  state.loss = loss.item<double>();
  state.skip_step = false;
  state.interrupt_requested =
      options_.interrupt_requested != nullptr && options_.interrupt_requested();
  if (absl::Status s = callbacks.Loss(state); !s.ok()) return s;
  if (state.skip_step || !std::isfinite(state.loss)) return absl::OkStatus();
  model_->zero_grad(/*set_to_none=*/true);
  (scaler_ == nullptr ? loss : scaler_->Scale(loss)).backward();
  if (absl::Status s = callbacks.BackwardEnd(state); !s.ok()) return s;
  if (scaler_ != nullptr) {
    std::vector<torch::Tensor> params;
    for (const auto& group : optimizer.param_groups()) {
      params.insert(params.end(), group.params().begin(), group.params().end());
    }
    if (!scaler_->UnscaleAndCheck(params)) return absl::OkStatus();  // overflow: step skipped
  }
  optimizer.step();
  return absl::OkStatus();
}

std::unique_ptr<Callback> Learner::MakeDistributedSync() const {
  if (options_.distributed == nullptr) return nullptr;
  return std::make_unique<DistributedSync>(options_.distributed, options_.sync_batchnorm,
                                           options_.bucket_bytes);
}

absl::StatusOr<Predictions> Learner::PredictValidation(models::Classifier& model) {
  absl::StatusOr<Predictions> local = PredictWith(model, valid_, 0);
  if (!local.ok() || options_.distributed == nullptr) return local;
  return GatherPredictions(options_.distributed, *local, valid_->indices());
}

absl::Status Learner::PreciseBatchNorm(models::Classifier& model, int stage_index, int epoch) {
  // At the loader's own image size, the validation's, even while progressive resizing trains on
  // smaller images: the statistics then match the images validated (FixRes' point).
  train_->StartEpoch(data::EpochKey(data::kPreciseBnStream, stage_index, epoch));
  absl::Status failed;
  models::RecomputeBatchNormStatistics(
      *model,
      [&]() -> torch::Tensor {
        data::Batch batch;
        absl::StatusOr<bool> more = train_->Next(&batch);
        if (!more.ok()) failed = more.status();
        if (!more.ok() || !*more) return torch::Tensor();
        return ToDevice(batch).images.clone();  // the batch's buffer goes with it
      },
      options_.precise_bn_batches);
  return failed;
}

Learner::Learner(models::Classifier model, data::BatchLoader* train, data::BatchLoader* valid,
                 Options options)
    : model_(std::move(model)),
      train_(train),
      valid_(valid),
      options_(std::move(options)),
      dtype_(ParameterType(model_)) {
  for (models::Classifier* m : {&model_, &options_.ema_model}) {
    if (m->is_empty()) continue;
    (*m)->to(options_.device);
    if (options_.channels_last) {
      torch::NoGradGuard no_grad;
      for (auto& p : (*m)->parameters()) {
        if (p.dim() == 4) p.set_data(p.contiguous(torch::MemoryFormat::ChannelsLast));
      }
    }
  }
  if (options_.precision == FLOAT16 && options_.device.is_cuda()) {
    scaler_ = std::make_shared<DynamicLossScaler>();
  }
}

absl::StatusOr<Predictions> Learner::Predict(data::BatchLoader* loader, int tta_flips) {
  return PredictWith(model_, loader, tta_flips);
}

absl::StatusOr<Predictions> Learner::PredictWith(models::Classifier& model,
                                                 data::BatchLoader* loader, int tta_flips) {
  torch::NoGradGuard no_grad;
  model->eval();
  Predictions out;
  double loss_sum = 0;
  loader->StartEpoch(0);
  data::Batch batch;
  while (true) {
    absl::StatusOr<bool> more = loader->Next(&batch);
    if (!more.ok()) return more.status();
    if (!*more) break;
    const Batch t = ToDevice(batch);
    // The batch as it is, then flipped (test-time augmentation); probabilities averaged.
    const std::vector<torch::Tensor> views = TtaViews(t.images, tta_flips);
    torch::Tensor probs;
    for (const torch::Tensor& view : views) {
      torch::Tensor logits;
      {
        AutocastScope autocast(options_.precision, options_.device);
        logits = AtLeastFloat(model->forward(view));
      }
      const torch::Tensor p = torch::softmax(logits, 1);
      probs = probs.defined() ? probs + p : p;
    }
    probs = (probs / static_cast<double>(views.size())).to(torch::kCPU);
    const torch::Tensor labels = t.labels.to(torch::kCPU);
    const torch::Tensor losses =
        (-probs.gather(1, labels.unsqueeze(1)).squeeze(1).clamp_min(1e-12).log())
            .to(torch::kFloat)
            .contiguous();
    probs = probs.to(torch::kFloat).contiguous();
    out.num_classes = static_cast<int>(probs.size(1));
    out.probabilities.insert(out.probabilities.end(), probs.data_ptr<float>(),
                             probs.data_ptr<float>() + probs.numel());
    out.losses.insert(out.losses.end(), losses.data_ptr<float>(),
                      losses.data_ptr<float>() + losses.numel());
    out.labels.insert(out.labels.end(), batch.labels.begin(), batch.labels.end());
    out.indices.insert(out.indices.end(), batch.indices.begin(), batch.indices.end());
    loss_sum += losses.sum().item<double>();
  }
  out.mean_loss = out.labels.empty() ? 0 : loss_sum / out.labels.size();
  return out;
}

absl::StatusOr<StageResult> Learner::Fit(const StageConfig& stage, int stage_index,
                                         const std::vector<double>& lrs,
                                         const std::vector<Callback*>& callbacks,
                                         const std::string& resume_from) {
  if (train_ == nullptr || valid_ == nullptr) {
    return absl::FailedPreconditionError("Learner::Fit needs training and validation loaders");
  }
  const int groups = model_->NumLayerGroups();
  if (static_cast<int>(lrs.size()) != groups) {
    return absl::InvalidArgumentError(absl::StrCat("stage '", stage.name(), "': ", lrs.size(),
                                                   " learning rates for ", groups,
                                                   " layer groups"));
  }
  const int batches = train_->NumBatches();
  if (batches == 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "stage '", stage.name(), "': the training set has fewer images than one batch"));
  }
  absl::StatusOr<StageSchedule> schedule =
      BuildSchedule(stage, lrs, static_cast<int64_t>(batches) * stage.epochs());
  if (!schedule.ok()) return schedule.status();
  model_->FreezeTo(stage.freeze_to(), stage.train_bn());
  LayerGroupAdamW adamw =
      MakeLayerGroupAdamW(model_, stage.optimizer(), lrs, stage.one_cycle().moms_max());
  torch::optim::AdamW* optimizer = adamw.optimizer.get();

  const bool averaging = !options_.ema_model.is_empty();
  // The model validated, checkpointed and handed on: the weight average when there is one.
  models::Classifier& kept = averaging ? options_.ema_model : model_;
  FitState state;
  state.stage = &stage;
  state.stage_index = stage_index;
  state.epochs = stage.epochs();
  state.batches = batches;
  state.total_iterations = schedule->total();
  state.world_size = options_.distributed != nullptr ? options_.distributed->world_size() : 1;
  state.model = model_.get();
  state.optimizer = optimizer;
  state.progress.stage_index = stage_index;
  SmoothedValue smooth(options_.loss_smoothing_beta);
  StageResult result;
  result.lrs = lrs;
  if (!resume_from.empty()) {
    // With a weight average, the checkpoint's model is the average and the raw weights are beside.
    absl::StatusOr<CheckpointInfo> resumed =
        averaging ? LoadCheckpoint(resume_from, options_.ema_model, optimizer, model_)
                  : LoadCheckpoint(resume_from, model_, optimizer);
    if (!resumed.ok()) return resumed.status();
    if (resumed->progress.stage_index != stage_index) {
      return absl::FailedPreconditionError(
          absl::StrCat("checkpoint ", resume_from, " belongs to stage ",
                       resumed->progress.stage_index, ", not stage ", stage_index));
    }
    state.progress = resumed->progress;
    smooth.Restore(state.progress.smooth_mov_avg, state.progress.smooth_count);
  }

  OneCycleScheduler scheduler(*std::move(schedule));
  const std::unique_ptr<Callback> sync = MakeDistributedSync();
  NonFiniteLossGuard guard;
  std::unique_ptr<WeightAverage> ema;
  if (averaging) ema = std::make_unique<WeightAverage>(model_, kept, options_.ema_decay);
  BestEpochTracker best(options_.monitor);
  std::unique_ptr<CheckpointSaver> saver;
  if (!options_.checkpoint_dir.empty()) {
    saver = std::make_unique<CheckpointSaver>(options_.checkpoint_dir, kept, options_.config_text,
                                              averaging ? model_ : models::Classifier(nullptr));
  }
  // A single process may look at its own signal flag at an epoch's end; a data-parallel job acts
  // only on what its processes agreed.
  InterruptCheck interrupts(options_.distributed == nullptr ? options_.interrupt_requested
                                                            : nullptr);
  std::vector<Callback*> order = {&scheduler, sync.get(), &guard, ema.get(), &best};
  order.insert(order.end(), callbacks.begin(), callbacks.end());
  order.push_back(saver.get());
  order.push_back(&interrupts);
  CallbackList list(order);

  absl::Status outcome = list.FitBegin(state);
  for (int epoch = state.progress.epochs_completed + 1; outcome.ok() && epoch <= stage.epochs();
       ++epoch) {
    const Clock::time_point start = Clock::now();
    state.epoch = epoch;
    torch::manual_seed(
        data::MixSeed(options_.seed, data::kTrainingStream, stage_index, epoch,
                      options_.distributed != nullptr ? options_.distributed->rank() : 0));
    model_->train();
    const int image_size = TrainImageSize(stage, epoch - 1, train_->options().image_size);
    if (ProgressiveResizeOn(stage)) {
      LOG(INFO) << "stage '" << stage.name() << "' epoch " << epoch << ": training images of "
                << image_size << " px (progressive_resize)";
    }
    train_->StartEpoch(data::EpochKey(data::kEpochStream, stage_index, epoch), image_size);
    outcome = list.EpochBegin(state);
    data::Batch batch;
    for (int b = 0; outcome.ok() && b < batches; ++b) {
      absl::StatusOr<bool> more = train_->Next(&batch);
      if (!more.ok() || !*more) {
        outcome = more.status();
        break;
      }
      state.batch = b + 1;
      state.batch_size = batch.size;
      state.image_size = batch.image_size;
      state.iteration = static_cast<int64_t>(epoch - 1) * batches + b;
      outcome = list.BatchBegin(state);
      if (!outcome.ok()) break;
      SetHyperParameters(adamw, state.lrs, state.mom, stage.optimizer().beta2());
      outcome = Step(*optimizer, ToDevice(batch), list, state);
      if (!outcome.ok()) break;
      state.smooth_loss = smooth.Add(state.loss);
      state.epoch_seconds = SecondsSince(start);
      outcome = list.BatchEnd(state);
    }
    if (!outcome.ok()) break;
    const double train_seconds = SecondsSince(start);

    if (options_.precise_bn_batches > 0) {
      outcome = PreciseBatchNorm(kept, stage_index, epoch);
      if (!outcome.ok()) break;
    }
    absl::StatusOr<Predictions> valid = PredictValidation(kept);
    if (!valid.ok()) {
      outcome = valid.status();
      break;
    }
    absl::StatusOr<Predictions> raw;
    if (averaging) {
      raw = PredictValidation(model_);
      if (!raw.ok()) {
        outcome = raw.status();
        break;
      }
    }
    EpochResult r;
    r.stage = stage.name();
    r.stage_index = stage_index;
    r.epoch = epoch;
    r.epochs = stage.epochs();
    r.train_loss = smooth.value();
    r.valid_loss = valid->mean_loss;
    r.accuracy = valid->Accuracy();
    r.error_rate = 1 - r.accuracy;
    r.lrs = state.lrs;
    r.mom = state.mom;
    r.seconds = SecondsSince(start);
    r.train_images_per_second = static_cast<double>(train_->NumExamples()) * state.world_size /
                                std::max(1e-9, train_seconds);
    if (averaging) {
      r.raw_accuracy = raw->Accuracy();
      r.raw_valid_loss = raw->mean_loss;
    }
    r.valid = *std::move(valid);
    state.progress.epochs_completed = epoch;
    state.progress.smooth_mov_avg = smooth.moving_average();
    state.progress.smooth_count = smooth.count();
    state.epoch_seconds = r.seconds;
    state.epoch_result = &r;
    outcome = list.EpochEnd(state);
    state.epoch_result = nullptr;
    result.epochs.push_back(std::move(r));
  }
  list.FitEnd(state, outcome);
  if (!outcome.ok()) return outcome;
  // The stage hands on the model it kept.
  if (averaging) CopyWeights(options_.ema_model, model_);
  result.best_epoch = state.progress.best_epoch;
  return result;
}

absl::StatusOr<LrFinderResult> Learner::FindLr(const StageConfig& stage, int stage_index) {
  const LrFinderConfig& config = stage.lr_finder();
  if (train_->NumBatches() == 0) {
    return absl::FailedPreconditionError(
        "lr_find: the training set has fewer images than one batch");
  }
  // Snapshot every parameter and buffer; restored below whatever happens.
  std::vector<torch::Tensor> saved;
  {
    torch::NoGradGuard no_grad;
    for (const auto& p : model_->parameters()) saved.push_back(p.detach().clone());
    for (const auto& b : model_->buffers()) saved.push_back(b.detach().clone());
  }
  auto restore = [&]() {
    torch::NoGradGuard no_grad;
    size_t i = 0;
    for (auto& p : model_->parameters()) p.copy_(saved[i++]);
    for (auto& b : model_->buffers()) b.copy_(saved[i++]);
    model_->zero_grad(/*set_to_none=*/true);
  };

  model_->FreezeTo(stage.freeze_to(), stage.train_bn());
  const int groups = model_->NumLayerGroups();
  std::vector<double> lrs(groups, config.start_lr());
  LayerGroupAdamW adamw = MakeLayerGroupAdamW(model_, stage.optimizer(), lrs, config.beta1());
  torch::optim::AdamW* optimizer = adamw.optimizer.get();
  FitState state;
  state.stage = &stage;
  state.stage_index = stage_index;
  state.finder = true;
  state.total_iterations = config.num_iterations();
  state.world_size = options_.distributed != nullptr ? options_.distributed->world_size() : 1;
  state.model = model_.get();
  state.optimizer = optimizer;
  const std::unique_ptr<Callback> sync = MakeDistributedSync();
  InterruptCheck interrupts(options_.distributed == nullptr ? options_.interrupt_requested
                                                            : nullptr);
  CallbackList list({sync.get(), &interrupts});

  LrFinderResult result;
  SmoothedValue smooth(config.smooth_beta());
  double best = std::numeric_limits<double>::infinity();
  int iteration = 0;
  bool done = false;
  torch::manual_seed(data::MixSeed(options_.seed, data::kFinderStream, stage_index));
  model_->train();
  absl::Status outcome = list.FitBegin(state);
  for (int pass = 0; outcome.ok() && !done; ++pass) {
    train_->StartEpoch(data::EpochKey(data::kFinderStream, stage_index, pass),
                       TrainImageSize(stage, 0, train_->options().image_size));
    data::Batch batch;
    while (!done) {
      absl::StatusOr<bool> more = train_->Next(&batch);
      if (!more.ok() || !*more) {
        outcome = more.status();
        break;
      }
      const double lr = AnnealingExp(config.start_lr(), config.end_lr(),
                                     static_cast<double>(iteration) / config.num_iterations());
      std::fill(lrs.begin(), lrs.end(), lr);
      SetHyperParameters(adamw, lrs, config.beta1(), stage.optimizer().beta2());
      state.iteration = iteration;
      state.batch = iteration + 1;
      outcome = Step(*optimizer, ToDevice(batch), list, state);
      if (!outcome.ok()) break;
      const double s = smooth.Add(state.loss);
      result.lrs.push_back(lr);
      result.raw_losses.push_back(state.loss);
      result.losses.push_back(s);
      if (iteration == 0 || s < best) best = s;
      ++iteration;
      if (iteration >= config.num_iterations()) done = true;
      if (config.stop_div() && (std::isnan(s) || s > config.divergence_factor() * best)) {
        result.diverged = true;
        done = true;
      }
      outcome = list.BatchEnd(state);
      if (!outcome.ok()) break;
    }
  }
  list.FitEnd(state, outcome);
  restore();
  if (!outcome.ok()) return outcome;

  const LrSuggestions suggested = SuggestLearningRates(result.lrs, result.losses);
  result.suggestion_steepest = suggested.steepest;
  result.suggestion_min_div_10 = suggested.minimum_div_10;
  return result;
}

absl::StatusOr<Learner::Options> BuildLearnerOptions(const TrainingConfig& config, uint64_t seed,
                                                     const torch::Device& device) {
  Learner::Options options;
  options.device = device;
  options.seed = seed;
  absl::StatusOr<Monitor> monitor = BuildMonitor(config.monitor());
  if (!monitor.ok()) return monitor.status();
  options.monitor = *monitor;
  if (config.precision() != FLOAT32 && !device.is_cuda()) {
    return absl::InvalidArgumentError(
        absl::StrCat("training.precision: ", Precision_Name(config.precision()),
                     " is CUDA mixed precision; this run uses ", device.str(), " (use FLOAT32)"));
  }
  options.precision = config.precision();
  options.channels_last = config.channels_last();
  options.loss_smoothing_beta = config.loss_smoothing_beta();
  options.label_smoothing = config.label_smoothing();
  options.mixup_alpha = config.mixup_alpha();
  options.ema_decay = config.ema_decay();
  options.precise_bn_batches = config.precise_bn_batches();
  options.sync_batchnorm = config.distributed().sync_batchnorm();
  options.bucket_bytes = int64_t{config.distributed().bucket_mib()} << 20;
  return options;
}

absl::StatusOr<torch::Device> ResolveDevice(Device device) {
  const bool available = torch::cuda::is_available();
  switch (device) {
    case DEVICE_CPU:
      return torch::Device(torch::kCPU);
    case DEVICE_CUDA:
      if (!available) {
        return absl::FailedPreconditionError(
            "training.device is DEVICE_CUDA but no CUDA device is usable (this LibTorch build "
            "has no CUDA, or no GPU is present); build with --config=cuda on a GPU machine");
      }
      return torch::Device(torch::kCUDA);
    default:
      return available ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
  }
}

}  // namespace malaria::training
