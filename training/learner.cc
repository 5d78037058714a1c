#include "training/learner.h"

#include <ATen/autocast_mode.h>
#include <torch/cuda.h>
#include <torch/nn/functional/loss.h>
#include <torch/optim/adamw.h>
#include <torch/utils.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "base/files.h"
#include "data/random.h"
#include "glog/logging.h"
#include "training/distributed.h"
#include "training/interrupt.h"
#include "training/schedule.h"

namespace malaria::training {
namespace {

namespace F = torch::nn::functional;
using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The loaders' epoch numbers: each (stage, epoch) and each finder pass gets its own, so sample
// orders and augmentations never repeat between stages.
int TrainEpochId(int stage_index, int epoch) { return stage_index * 100000 + epoch; }
int FinderEpochId(int stage_index, int pass) { return 50000 + stage_index * 100000 + pass; }

// AdamW over the trainable parameters, one parameter group per (layer group, BatchNorm or not),
// like fastai's split_bn_bias. `layer_of` receives each parameter group's layer group.
std::unique_ptr<torch::optim::AdamW> MakeOptimizer(models::Classifier& model,
                                                   const AdamWConfig& config,
                                                   const std::vector<double>& lrs, double beta1,
                                                   std::vector<int>* layer_of) {
  std::vector<torch::optim::OptimizerParamGroup> groups;
  layer_of->clear();
  auto layer_groups = model->LayerGroups();
  for (size_t g = 0; g < layer_groups.size(); ++g) {
    std::vector<torch::Tensor> regular, batch_norm;
    for (const auto& top : layer_groups[g]) {
      for (const auto& module : top->modules(/*include_self=*/true)) {
        const bool is_bn = models::IsBatchNorm(*module);
        for (const auto& p : module->parameters(/*recurse=*/false)) {
          if (p.requires_grad()) (is_bn ? batch_norm : regular).push_back(p);
        }
      }
    }
    for (int kind = 0; kind < 2; ++kind) {
      std::vector<torch::Tensor>& params = kind == 0 ? regular : batch_norm;
      if (params.empty()) continue;
      const double wd = (kind == 1 && !config.bn_weight_decay()) ? 0.0 : config.weight_decay();
      auto options = std::make_unique<torch::optim::AdamWOptions>(lrs[g]);
      options->betas(std::make_tuple(beta1, config.beta2())).eps(config.eps()).weight_decay(wd);
      groups.emplace_back(std::move(params), std::move(options));
      layer_of->push_back(static_cast<int>(g));
    }
  }
  TORCH_CHECK(!groups.empty(), "no trainable parameters");
  return std::make_unique<torch::optim::AdamW>(std::move(groups));
}

void SetHyperParameters(torch::optim::AdamW& optimizer, const std::vector<int>& layer_of,
                        const std::vector<double>& lrs, double beta1, double beta2) {
  auto& groups = optimizer.param_groups();
  for (size_t i = 0; i < groups.size(); ++i) {
    auto& options = static_cast<torch::optim::AdamWOptions&>(groups[i].options());
    options.lr(lrs[layer_of[i]]);
    options.betas(std::make_tuple(beta1, beta2));
  }
}

// Holds the gradient averaging of one Fit or FindLr and points `slot` (what Step uses) at it.
class SyncScope {
 public:
  SyncScope(std::unique_ptr<GradientSync> sync, GradientSync** slot)
      : sync_(std::move(sync)), slot_(slot) {
    *slot_ = sync_.get();
  }
  ~SyncScope() { *slot_ = nullptr; }
  SyncScope(const SyncScope&) = delete;
  SyncScope& operator=(const SyncScope&) = delete;

 private:
  std::unique_ptr<GradientSync> sync_;
  GradientSync** slot_;
};

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

// numpy.gradient of `v` (central differences inside, one-sided at the ends).
std::vector<double> Gradient(const std::vector<double>& v) {
  const size_t n = v.size();
  std::vector<double> g(n, 0);
  if (n < 2) return g;
  g[0] = v[1] - v[0];
  g[n - 1] = v[n - 1] - v[n - 2];
  for (size_t i = 1; i + 1 < n; ++i) g[i] = (v[i + 1] - v[i - 1]) / 2;
  return g;
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
  if (options_.channels_last) images = images.contiguous(torch::MemoryFormat::ChannelsLast);
  if (options_.device.is_cpu()) return {images, labels};
  return {images.to(options_.device), labels.to(options_.device)};
}

double Learner::Step(torch::optim::Optimizer& optimizer, const Batch& batch) {
  torch::Tensor logits;
  {
    AutocastScope autocast(options_.precision, options_.device);
    logits = model_->forward(batch.images);
  }
  torch::Tensor loss = F::cross_entropy(logits.to(torch::kFloat), batch.labels);
  double value = loss.item<double>();
  if (options_.distributed != nullptr) {
    // Every process reports the mean loss and stops (or skips the step) together.
    torch::Tensor shared = torch::tensor({value, InterruptRequested() ? 1.0 : 0.0}, torch::kDouble);
    options_.distributed->AllReduceSum(shared, "the loss all-reduce");
    value = shared[0].item<double>() / options_.distributed->world_size();
    interrupt_agreed_ = shared[1].item<double>() > 0;
  }
  if (!std::isfinite(value)) return value;
  model_->zero_grad(/*set_to_none=*/true);
  if (scaler_ == nullptr) {
    loss.backward();
    if (sync_ != nullptr) sync_->Finish();
  } else {
    scaler_->Scale(loss).backward();
    if (sync_ != nullptr) sync_->Finish();
    std::vector<torch::Tensor> params;
    for (const auto& group : optimizer.param_groups()) {
      params.insert(params.end(), group.params().begin(), group.params().end());
    }
    if (!scaler_->UnscaleAndCheck(params)) return value;  // overflow: this step is skipped
  }
  optimizer.step();
  return value;
}

std::unique_ptr<GradientSync> Learner::Synchronize() {
  Distributed* dist = options_.distributed;
  models::SetStatsReducer(
      *model_, dist != nullptr && options_.sync_batchnorm ? MakeStatsReducer(dist) : nullptr);
  if (dist == nullptr) return nullptr;
  std::vector<torch::Tensor> state, trainable;
  {
    torch::NoGradGuard no_grad;
    for (const auto& p : model_->parameters()) {
      state.push_back(p.detach().contiguous());
      if (p.requires_grad()) trainable.push_back(p);
    }
    for (const auto& b : model_->buffers()) state.push_back(b.detach().contiguous());
    dist->Broadcast(state, /*root=*/0, "the broadcast of rank 0's weights");
    size_t i = 0;
    for (auto& p : model_->parameters()) p.detach().copy_(state[i++]);
    for (auto& b : model_->buffers()) b.detach().copy_(state[i++]);
  }
  return std::make_unique<GradientSync>(dist, std::move(trainable), options_.bucket_bytes);
}

bool Learner::StopRequested() const {
  return options_.distributed != nullptr ? interrupt_agreed_ : InterruptRequested();
}

absl::StatusOr<Predictions> Learner::PredictValidation() {
  absl::StatusOr<Predictions> local = Predict(valid_);
  Distributed* dist = options_.distributed;
  if (!local.ok() || dist == nullptr) return local;
  // Every process's rows (probabilities, loss, label, dataset index), padded to the longest. A
  // process whose share was empty learns the number of classes from the others.
  const int64_t n = local->size();
  const std::vector<torch::Tensor> counts =
      dist->AllGather(torch::tensor({n, static_cast<int64_t>(local->num_classes)}, torch::kLong),
                      "gathering validation sizes");
  std::vector<int64_t> sizes;  // rows per process
  int64_t longest = 1, classes = 0;
  for (const torch::Tensor& count : counts) {
    const int64_t* v = count.data_ptr<int64_t>();
    sizes.push_back(v[0]);
    longest = std::max(longest, v[0]);
    classes = std::max(classes, v[1]);
  }
  const int64_t c = classes;
  torch::Tensor rows = torch::zeros({longest, c + 3}, torch::kDouble);
  if (n > 0) {
    auto column = [n](auto& values, torch::ScalarType type) {
      return torch::from_blob(values.data(), {n, static_cast<int64_t>(values.size()) / n}, type)
          .to(torch::kDouble);
    };
    rows.narrow(0, 0, n).copy_(torch::cat(
        {column(local->probabilities, torch::kFloat), column(local->losses, torch::kFloat),
         column(local->labels, torch::kLong), column(local->indices, torch::kInt)},
        1));
  }
  const std::vector<torch::Tensor> all = dist->AllGather(rows, "gathering validation results");
  // Back into the validation loader's order, as one process would have produced them.
  std::map<int, int> position;
  for (size_t i = 0; i < valid_->indices().size(); ++i) position[valid_->indices()[i]] = i;
  std::vector<std::pair<int, const double*>> ordered;
  for (size_t r = 0; r < all.size(); ++r) {
    const double* data = all[r].data_ptr<double>();
    for (int64_t i = 0; i < sizes[r]; ++i) {
      const double* row = data + i * (c + 3);
      ordered.emplace_back(position.at(static_cast<int>(row[c + 2])), row);
    }
  }
  std::sort(ordered.begin(), ordered.end());
  Predictions out;
  out.num_classes = static_cast<int>(c);
  double loss_sum = 0;
  for (const auto& [pos, row] : ordered) {
    out.probabilities.insert(out.probabilities.end(), row, row + c);
    out.losses.push_back(static_cast<float>(row[c]));
    out.labels.push_back(static_cast<int64_t>(row[c + 1]));
    out.indices.push_back(static_cast<int>(row[c + 2]));
    loss_sum += out.losses.back();
  }
  out.mean_loss = out.labels.empty() ? 0 : loss_sum / out.labels.size();
  return out;
}

int Predictions::Predicted(int i) const {
  const float* row = probabilities.data() + static_cast<size_t>(i) * num_classes;
  return static_cast<int>(std::max_element(row, row + num_classes) - row);
}

double Predictions::Accuracy() const {
  if (labels.empty()) return 0;
  int correct = 0;
  for (int i = 0; i < size(); ++i) correct += Predicted(i) == labels[i];
  return static_cast<double>(correct) / size();
}

Learner::Learner(models::Classifier model, data::BatchLoader* train, data::BatchLoader* valid,
                 Options options)
    : model_(std::move(model)), train_(train), valid_(valid), options_(std::move(options)) {
  model_->to(options_.device);
  if (options_.channels_last) {
    torch::NoGradGuard no_grad;
    for (auto& p : model_->parameters()) {
      if (p.dim() == 4) p.set_data(p.contiguous(torch::MemoryFormat::ChannelsLast));
    }
  }
  if (options_.precision == FLOAT16 && options_.device.is_cuda()) {
    scaler_ = std::make_shared<DynamicLossScaler>();
  }
}

absl::StatusOr<Predictions> Learner::Predict(data::BatchLoader* loader, int tta_flips) {
  torch::NoGradGuard no_grad;
  model_->eval();
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
    std::vector<torch::Tensor> views = {t.images};
    if (tta_flips >= 1) views.push_back(t.images.flip({3}));
    if (tta_flips >= 2) views.push_back(t.images.flip({2}));
    torch::Tensor probs;
    for (const torch::Tensor& view : views) {
      torch::Tensor logits;
      {
        AutocastScope autocast(options_.precision, options_.device);
        logits = model_->forward(view).to(torch::kFloat);
      }
      const torch::Tensor p = torch::softmax(logits, 1);
      probs = probs.defined() ? probs + p : p;
    }
    probs = (probs / static_cast<double>(views.size())).to(torch::kCPU).contiguous();
    const torch::Tensor labels = t.labels.to(torch::kCPU);
    const torch::Tensor losses =
        -probs.gather(1, labels.unsqueeze(1)).squeeze(1).clamp_min(1e-12).log().contiguous();
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
                                         const std::vector<double>& lrs, TrainingCallback* callback,
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
  model_->FreezeTo(stage.freeze_to(), stage.train_bn());
  std::vector<OneCycle> cycles;
  for (double lr : lrs) cycles.push_back(OneCycleFromConfig(stage.one_cycle(), lr));
  std::vector<int> layer_of;
  std::unique_ptr<torch::optim::AdamW> optimizer =
      MakeOptimizer(model_, stage.optimizer(), lrs, cycles[0].moms_max, &layer_of);

  const bool higher_is_better = options_.monitor != "valid_loss";
  const int64_t total = static_cast<int64_t>(batches) * stage.epochs();
  StageResult result;
  result.lrs = lrs;
  SmoothedValue smooth(0.98);
  TrainingProgress progress;
  progress.stage_index = stage_index;
  if (!resume_from.empty()) {
    absl::StatusOr<CheckpointInfo> resumed = LoadCheckpoint(resume_from, model_, optimizer.get());
    if (!resumed.ok()) return resumed.status();
    if (resumed->progress.stage_index != stage_index) {
      return absl::FailedPreconditionError(
          absl::StrCat("checkpoint ", resume_from, " belongs to stage ",
                       resumed->progress.stage_index, ", not stage ", stage_index));
    }
    progress = resumed->progress;
    smooth.Restore(progress.smooth_mov_avg, progress.smooth_count);
    result.best_epoch = progress.best_epoch;
  }
  const SyncScope sync(Synchronize(), &sync_);
  const int world = options_.distributed != nullptr ? options_.distributed->world_size() : 1;
  std::vector<double> current_lrs(groups);
  double mom = 0;

  for (int epoch = progress.epochs_completed + 1; epoch <= stage.epochs(); ++epoch) {
    const Clock::time_point start = Clock::now();
    torch::manual_seed(
        data::MixSeed(options_.seed, 100 + stage_index, epoch,
                      options_.distributed != nullptr ? options_.distributed->rank() : 0));
    model_->train();
    train_->StartEpoch(TrainEpochId(stage_index, epoch));
    data::Batch batch;
    for (int b = 0; b < batches; ++b) {
      absl::StatusOr<bool> more = train_->Next(&batch);
      if (!more.ok()) return more.status();
      if (!*more) break;
      const int64_t iteration = static_cast<int64_t>(epoch - 1) * batches + b;
      for (int g = 0; g < groups; ++g) {
        const OneCyclePoint p = OneCycleAt(cycles[g], iteration, total);
        current_lrs[g] = p.lr;
        mom = p.mom;
      }
      SetHyperParameters(*optimizer, layer_of, current_lrs, mom, stage.optimizer().beta2());
      const double loss = Step(*optimizer, ToDevice(batch));
      if (!std::isfinite(loss)) {
        return absl::FailedPreconditionError(absl::StrCat(
            "stage '", stage.name(), "' epoch ", epoch, " batch ", b + 1, ": the training loss is ",
            loss, "; training stopped (the checkpoints of the last completed epoch are kept)"));
      }
      smooth.Add(loss);
      if (callback != nullptr) {
        BatchProgress progress;
        progress.stage = &stage.name();
        progress.epoch = epoch;
        progress.epochs = stage.epochs();
        progress.batch = b + 1;
        progress.batches = batches;
        progress.smooth_loss = smooth.value();
        progress.elapsed_seconds = SecondsSince(start);
        progress.images_per_second = (b + 1) * static_cast<double>(batch.size) * world /
                                     std::max(1e-9, progress.elapsed_seconds);
        callback->OnBatchEnd(progress);
      }
      if (StopRequested()) {
        return absl::CancelledError(absl::StrCat("interrupted during stage '", stage.name(),
                                                 "' epoch ", epoch, " batch ", b + 1));
      }
    }
    const double train_seconds = SecondsSince(start);

    absl::StatusOr<Predictions> valid = PredictValidation();
    if (!valid.ok()) return valid.status();
    EpochResult r;
    r.stage = stage.name();
    r.stage_index = stage_index;
    r.epoch = epoch;
    r.epochs = stage.epochs();
    r.train_loss = smooth.value();
    r.valid_loss = valid->mean_loss;
    r.accuracy = valid->Accuracy();
    r.error_rate = 1 - r.accuracy;
    r.lrs = current_lrs;
    r.mom = mom;
    r.seconds = SecondsSince(start);
    r.train_images_per_second =
        static_cast<double>(train_->NumExamples()) * world / std::max(1e-9, train_seconds);
    const double value = higher_is_better ? r.accuracy : r.valid_loss;
    r.is_best = progress.best_epoch == 0 ||
                (higher_is_better ? value > progress.best_value : value < progress.best_value);
    if (r.is_best) {
      progress.best_value = value;
      progress.best_epoch = epoch;
      result.best_epoch = epoch;
    }
    progress.epochs_completed = epoch;
    progress.smooth_mov_avg = smooth.moving_average();
    progress.smooth_count = smooth.count();
    r.valid = std::move(*valid);
    // The metrics first, then the checkpoints: a run killed in between redoes this epoch on resume
    // (and its row is replaced), rather than losing the row.
    if (callback != nullptr) {
      if (absl::Status s = callback->OnEpochEnd(r); !s.ok()) return s;
    }
    if (!options_.checkpoint_dir.empty()) {
      const std::string prefix = base::JoinPath(options_.checkpoint_dir, stage.name());
      if (absl::Status s = SaveCheckpoint(prefix + "_last.pt", model_, options_.config_text,
                                          optimizer.get(), progress);
          !s.ok()) {
        return s;
      }
      if (r.is_best) {
        if (absl::Status s = SaveCheckpoint(prefix + "_best.pt", model_, options_.config_text,
                                            nullptr, progress);
            !s.ok()) {
          return s;
        }
      }
    }
    result.epochs.push_back(std::move(r));
    if (StopRequested()) {
      return absl::CancelledError(
          absl::StrCat("interrupted after stage '", stage.name(), "' epoch ", epoch));
    }
  }
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
  std::vector<int> layer_of;
  std::vector<double> lrs(groups, config.start_lr());
  std::unique_ptr<torch::optim::AdamW> optimizer =
      MakeOptimizer(model_, stage.optimizer(), lrs, /*beta1=*/0.9, &layer_of);
  const SyncScope sync(Synchronize(), &sync_);

  LrFinderResult result;
  SmoothedValue smooth(config.smooth_beta());
  double best = std::numeric_limits<double>::infinity();
  int iteration = 0;
  bool done = false;
  torch::manual_seed(data::MixSeed(options_.seed, 200 + stage_index));
  model_->train();
  for (int pass = 0; !done; ++pass) {
    train_->StartEpoch(FinderEpochId(stage_index, pass));
    data::Batch batch;
    while (!done) {
      absl::StatusOr<bool> more = train_->Next(&batch);
      if (!more.ok()) {
        restore();
        return more.status();
      }
      if (!*more) break;
      const double lr = AnnealingExp(config.start_lr(), config.end_lr(),
                                     static_cast<double>(iteration) / config.num_iterations());
      std::fill(lrs.begin(), lrs.end(), lr);
      SetHyperParameters(*optimizer, layer_of, lrs, 0.9, stage.optimizer().beta2());
      const double loss = Step(*optimizer, ToDevice(batch));
      const double s = smooth.Add(loss);
      result.lrs.push_back(lr);
      result.raw_losses.push_back(loss);
      result.losses.push_back(s);
      if (iteration == 0 || s < best) best = s;
      ++iteration;
      if (iteration >= config.num_iterations()) done = true;
      if (config.stop_div() && (std::isnan(s) || s > config.divergence_factor() * best)) {
        result.diverged = true;
        done = true;
      }
      if (StopRequested()) {
        restore();
        return absl::CancelledError("interrupted during the learning-rate finder");
      }
    }
  }
  restore();

  // fastai v1 recorder.plot(suggestion=True): skip the first 10 and last 5 points.
  const int n = static_cast<int>(result.losses.size());
  int lo = 10, hi = n - 5;
  if (hi - lo < 3) {
    lo = 0;
    hi = n;
  }
  std::vector<double> window(result.losses.begin() + lo, result.losses.begin() + hi);
  const std::vector<double> grad = Gradient(window);
  const int steepest = static_cast<int>(std::min_element(grad.begin(), grad.end()) - grad.begin());
  result.suggestion_steepest = result.lrs[lo + steepest];
  int min_at = 0;
  for (int i = 0; i < n; ++i) {
    if (std::isfinite(result.losses[i]) && result.losses[i] < result.losses[min_at]) min_at = i;
  }
  result.suggestion_min_div_10 = result.lrs[min_at] / 10;
  return result;
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
