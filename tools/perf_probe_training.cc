// perf_probe's modes that time the platform's own training and inference paths: train-step (the
// Learner on synthetic cells, or --bare 1: the model and AdamW on one fixed batch), inference and
// epoch (the Learner over a real folder). Flags and main: perf_probe.cc.
#include <sys/resource.h>
#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "data/data_config.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "data/synthetic.h"
#include "models/classifier.h"
#include "models/flops.h"
#include "tools/perf_probe.h"
#include "training/learner.h"
#include "training/optimizer.h"
#include "training/precision.h"
#include "training/step.h"

namespace malaria::perf_probe {
namespace {

using Clock = std::chrono::steady_clock;

double PeakRssMb() {
  rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;
}

// --bf16 1: the forward passes under bfloat16 autocast (training.precision BFLOAT16), refused on
// a CPU without bfloat16 units as a run refuses it. Null for float32.
absl::StatusOr<std::unique_ptr<training::MixedPrecision>> Autocast(const Flags& f) {
  if (f.Int("bf16", 0) == 0) return nullptr;
  if (absl::Status s = training::CheckPrecision(training::BFLOAT16, torch::kCPU,
                                                training::CpuHasBfloat16Units());
      !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--bf16 1: ", s.message()));
  }
  return std::make_unique<training::MixedPrecision>(training::BFLOAT16, torch::kCPU);
}

// The Learner's ingredients for --bf16: its autocast callback, or none.
absl::StatusOr<training::TrainingCallbacks> AutocastHooks(const Flags& f) {
  absl::StatusOr<std::unique_ptr<training::MixedPrecision>> amp = Autocast(f);
  if (!amp.ok()) return amp.status();
  training::TrainingCallbacks hooks;
  if (*amp != nullptr) hooks.callbacks.push_back(*std::move(amp));
  return hooks;
}

// The logits of one forward pass, under `amp`'s autocast when there is one (as the Learner runs
// it: its hooks around the forward pass, float32 logits).
absl::StatusOr<torch::Tensor> Forward(models::Classifier& model, const torch::Tensor& x,
                                      training::MixedPrecision* amp) {
  if (amp == nullptr) return model->forward(x);
  training::StepTensors step;
  training::FitState state;
  state.step = &step;
  if (absl::Status s = amp->OnForwardBegin(state); !s.ok()) return s;
  step.logits = model->forward(x);
  if (absl::Status s = amp->OnForwardEnd(state); !s.ok()) return s;
  return step.logits;
}

training::StageConfig Stage(int frozen, int epochs) {
  training::StageConfig stage;
  stage.set_name("bench");
  stage.set_epochs(epochs);
  // 0: everything trains; 1: fastai's freeze() (body frozen, its BatchNorm layers train);
  // 2: the whole body frozen, BatchNorm too (nothing in it needs gradients or saved activations).
  stage.set_freeze_to(frozen ? -1 : 0);
  stage.set_train_bn(frozen != 2);
  stage.mutable_lr()->set_max(3e-3);
  return stage;
}

// The loader a run of the study's config would build (data::BuildLoaderOptions), at this size.
data::LoaderOptions Loader(int size, int batch, bool train) {
  data::DataConfig config;
  config.set_image_size(size);
  config.set_batch_size(batch);
  data::FillDataDefaults(&config);
  return *data::BuildLoaderOptions(
      config, train ? data::LoaderRole::kTraining : data::LoaderRole::kEvaluation,
      /*seed=*/0, /*default_threads=*/0);
}

// Records when each batch of the current epoch finished.
struct Timer : training::Callback {
  std::vector<double> batch_end;  // seconds since the epoch started
  std::vector<double> epoch_train_seconds;
  int last_epoch = 0;
  absl::Status OnBatchEnd(training::FitState& s) override {
    if (s.epoch != last_epoch) {
      if (!batch_end.empty()) epoch_train_seconds.push_back(batch_end.back());
      batch_end.clear();
      last_epoch = s.epoch;
    }
    batch_end.push_back(s.epoch_seconds);
    return absl::OkStatus();
  }
  void Finish() {
    if (!batch_end.empty()) epoch_train_seconds.push_back(batch_end.back());
  }
};

absl::StatusOr<std::shared_ptr<data::ImageSource>> Load(const std::string& dir, int size,
                                                        double* seconds) {
  const Clock::time_point start = Clock::now();
  absl::StatusOr<data::Dataset> ds = data::ScanImageFolder(dir);
  if (!ds.ok()) return ds.status();
  auto source = std::make_shared<data::ImageSource>(
      data::ImageSource::Load(*ds, size, 0, int64_t{4} << 30, nullptr));
  *seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return source;
}

// --bare 1: the step tools/reference_pytorch.py times, with the platform's model and optimizer:
// one fixed batch in the network's channels and memory format, forward, cross-entropy, backward,
// the hyper-parameters set as the one-cycle schedule sets them, AdamW's step.
absl::StatusOr<std::string> BareStep(const Flags& f, models::Classifier model) {
  const int size = f.Int("size", 64), batch = f.Int("batch", 32);
  const int warmup = f.Int("warmup", 2), steps = f.Int("steps", 6);
  if (f.Int("frozen", 0) != 0) {
    return absl::InvalidArgumentError("--bare 1 trains everything: it takes no --frozen");
  }
  absl::StatusOr<models::ModelConfig> config = ModelConfigOf(f);
  if (!config.ok()) return config.status();
  absl::StatusOr<std::unique_ptr<training::MixedPrecision>> amp = Autocast(f);
  if (!amp.ok()) return amp.status();
  const auto format = f.Int("channels_last", 1) != 0 ? torch::MemoryFormat::ChannelsLast
                                                     : torch::MemoryFormat::Contiguous;
  model->train();
  if (format == torch::MemoryFormat::ChannelsLast) models::ToChannelsLast(*model);
  const std::vector<double> lrs(models::kNumLayerGroups, 3e-3);
  training::LayerGroupOptimizer optimizer =
      training::MakeLayerGroupOptimizer(model, training::OptimizerConfig(), lrs, 0.95);
  const torch::Tensor x =
      torch::randn({batch, config->input_channels(), size, size}).contiguous(format);
  const torch::Tensor y = torch::randint(0, 2, {batch}, torch::kLong);
  Clock::time_point start;
  for (int i = 0; i < warmup + steps; ++i) {
    if (i == warmup) start = Clock::now();
    training::SetHyperParameters(optimizer, lrs, 0.95, 0.99);
    model->zero_grad(/*set_to_none=*/true);  // as the Learner does
    absl::StatusOr<torch::Tensor> logits = Forward(model, x, amp->get());
    if (!logits.ok()) return logits.status();
    torch::nn::functional::cross_entropy(*logits, y).backward();
    optimizer.optimizer->step();
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const double images_per_second = steps * batch / seconds;
  const double gflops =
      images_per_second * 3.0 *
      models::ForwardFlopsPerImage(*model, {config->input_channels(), size, size}) / 1e9;
  return absl::StrFormat(
      "{\"images_per_second\": %.3f, \"achieved_gflops\": %.2f, \"peak_rss_mb\": %.1f}",
      images_per_second, gflops, PeakRssMb());
}

}  // namespace

absl::StatusOr<std::string> TrainStep(const Flags& f) {
  const int size = f.Int("size", 64), batch = f.Int("batch", 32);
  const int warmup = f.Int("warmup", 2), steps = f.Int("steps", 6);
  absl::StatusOr<models::Classifier> model = Model(f);
  if (!model.ok()) return model.status();
  if (f.Int("bare", 0) != 0) return BareStep(f, *model);
  absl::StatusOr<training::TrainingCallbacks> hooks = AutocastHooks(f);
  if (!hooks.ok()) return hooks.status();
  if (int64_t{warmup + steps} * batch > 1000000) {
    return absl::InvalidArgumentError("(--warmup + --steps) x --batch must be <= 1000000 images");
  }
  const std::string dir = absl::StrFormat("/tmp/perf_probe_%d", ::getpid());
  data::SyntheticOptions options;
  options.num_images = (warmup + steps) * batch + 1;
  options.image_size = size;
  options.seed = 1;
  if (absl::Status w = data::WriteSyntheticDataset(dir, options); !w.ok()) return w;
  double load_seconds;
  absl::StatusOr<std::shared_ptr<data::ImageSource>> source = Load(dir, size, &load_seconds);
  if (!source.ok()) return source.status();
  std::vector<int> train(options.num_images - 1);
  std::iota(train.begin(), train.end(), 0);
  data::BatchLoader train_loader(*source, train, Loader(size, batch, true));
  data::BatchLoader valid_loader(*source, {options.num_images - 1}, Loader(size, batch, false));
  training::Learner::Options learner_options;
  learner_options.channels_last = f.Int("channels_last", 1) != 0;  // the default's: on
  training::Learner learner(*model, &train_loader, &valid_loader, learner_options,
                            *std::move(hooks));
  Timer timer;
  const absl::Status fit =
      learner.Fit(Stage(f.Int("frozen", 0), 1), 0, {3e-3, 3e-3, 3e-3}, {&timer}).status();
  std::filesystem::remove_all(dir);
  if (!fit.ok()) return fit;
  const double seconds = timer.batch_end.back() - timer.batch_end[warmup - 1];
  const double images_per_second = steps * batch / seconds;
  // Forward and backward: 3 x the forward FLOPs (the convention of training/compute_meter.h).
  const double gflops = images_per_second * 3.0 *
                        models::ForwardFlopsPerImage(*learner.model(), {3, size, size}) / 1e9;
  return absl::StrFormat(
      "{\"images_per_second\": %.3f, \"achieved_gflops\": %.2f, \"peak_rss_mb\": %.1f}",
      images_per_second, gflops, PeakRssMb());
}

absl::StatusOr<std::string> Inference(const Flags& f) {
  const int size = f.Int("size", 128), batch = f.Int("batch", 64);
  const int warmup = f.Int("warmup", 2), steps = f.Int("steps", 6);
  absl::StatusOr<models::Classifier> built = Model(f);
  if (!built.ok()) return built.status();
  models::Classifier model = *built;
  // What inference::Predictor does: eval mode, no autograd, channels-last (--channels_last 0:
  // NCHW), softmax.
  const auto format = f.Int("channels_last", 1) != 0 ? torch::MemoryFormat::ChannelsLast
                                                     : torch::MemoryFormat::Contiguous;
  torch::NoGradGuard no_grad;
  model->eval();
  if (format == torch::MemoryFormat::ChannelsLast) models::ToChannelsLast(*model);
  // The channels the network reads (a one-channel network would otherwise average three).
  absl::StatusOr<models::ModelConfig> config = ModelConfigOf(f);
  if (!config.ok()) return config.status();
  const torch::Tensor x =
      torch::randn({batch, config->input_channels(), size, size}).contiguous(format);
  absl::StatusOr<std::unique_ptr<training::MixedPrecision>> amp = Autocast(f);
  if (!amp.ok()) return amp.status();
  // --trace FILE: every operator's time as a Chrome trace (reference_pytorch.py --trace writes
  // the same), to compare the two sides operator by operator.
  std::optional<torch::autograd::profiler::RecordProfile> trace;
  if (!f.Get("trace", "").empty()) trace.emplace(f.Get("trace", ""));
  Clock::time_point start;
  for (int i = 0; i < warmup + steps; ++i) {
    if (i == warmup) start = Clock::now();
    absl::StatusOr<torch::Tensor> logits = Forward(model, x, amp->get());
    if (!logits.ok()) return logits.status();
    torch::softmax(*logits, 1);
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return absl::StrFormat(
      "{\"images_per_second\": %.3f, \"latency_ms\": %.3f, \"peak_rss_mb\": %.1f}",
      steps * batch / seconds, 1000 * seconds / steps, PeakRssMb());
}

absl::StatusOr<std::string> Epoch(const Flags& f) {
  const int size = f.Int("size", 64), batch = f.Int("batch", 64), epochs = f.Int("epochs", 2);
  if (f.Get("data", "").empty()) return absl::InvalidArgumentError("epoch needs --data DIR");
  absl::StatusOr<models::Classifier> model = Model(f);
  if (!model.ok()) return model.status();
  double load_seconds;
  absl::StatusOr<std::shared_ptr<data::ImageSource>> loaded =
      Load(f.Get("data", ""), size, &load_seconds);
  if (!loaded.ok()) return loaded.status();
  std::shared_ptr<data::ImageSource> source = *loaded;
  std::vector<int> all(source->dataset().examples.size());
  std::iota(all.begin(), all.end(), 0);
  data::BatchLoader train_loader(source, all, Loader(size, batch, true));
  data::BatchLoader valid_loader(source, {0}, Loader(size, batch, false));
  absl::StatusOr<training::TrainingCallbacks> hooks = AutocastHooks(f);
  if (!hooks.ok()) return hooks.status();
  training::Learner::Options learner_options;
  learner_options.channels_last = f.Int("channels_last", 1) != 0;  // the default's: on
  training::Learner learner(*model, &train_loader, &valid_loader, learner_options,
                            *std::move(hooks));
  Timer timer;
  if (absl::Status fit =
          learner.Fit(Stage(f.Int("frozen", 1), epochs), 0, {3e-3, 3e-3, 3e-3}, {&timer}).status();
      !fit.ok()) {
    return fit;
  }
  timer.Finish();
  std::vector<std::string> seconds;
  for (size_t e = 0; e < timer.epoch_train_seconds.size(); ++e) {
    // Epoch 1 also decodes every PNG (filling the cache the later epochs use).
    seconds.push_back(
        absl::StrFormat("%.3f", timer.epoch_train_seconds[e] + (e == 0 ? load_seconds : 0)));
  }
  return absl::StrFormat(
      "{\"epoch_seconds\": [%s], \"images\": %d, \"decode_seconds\": %.3f, "
      "\"peak_rss_mb\": %.1f}",
      absl::StrJoin(seconds, ", "), train_loader.NumExamples(), load_seconds, PeakRssMb());
}

}  // namespace malaria::perf_probe
