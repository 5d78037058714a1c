#include "training/learner.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <memory>

#include "absl/strings/str_cat.h"
#include "base/interrupt.h"
#include "base/main.h"
#include "data/random.h"
#include "glog/logging.h"
#include "inference/predictor.h"
#include "training/callbacks.h"
#include "training/checkpoint.h"
#include "training/checkpoint_saver.h"
#include "training/data_parallel.h"
#include "training/distributed.h"
#include "training/lr_finder.h"
#include "training/optimizer.h"
#include "training/schedule.h"

namespace malaria::training {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The floating-point type of `model`'s parameters (float32 for a model without any).
torch::Dtype ParameterType(models::Classifier& model) {
  for (const torch::Tensor& p : model->parameters()) {
    if (p.is_floating_point()) return p.scalar_type();
  }
  return torch::kFloat;
}

// Where the loop stood, for an error from inside it.
std::string Where(const FitState& state) {
  if (state.finder) return "the learning-rate finder";
  std::string where = absl::StrCat("stage '", state.stage->name(), "'");
  if (state.epoch > 0) absl::StrAppend(&where, " epoch ", state.epoch);
  if (state.batch > 0) absl::StrAppend(&where, " batch ", state.batch);
  return where;
}

// The single-process interrupt poll; a data-parallel job acts only on what its processes agreed.
bool (*InterruptPoll(const Learner::Options& options))() {
  return options.distributed == nullptr ? &base::InterruptRequested : nullptr;
}

}  // namespace

Learner::Learner(models::Classifier model, data::BatchLoader* train, data::BatchLoader* valid,
                 Options options, TrainingCallbacks ingredients)
    : model_(std::move(model)),
      train_(train),
      valid_(valid),
      options_(std::move(options)),
      ingredients_(std::move(ingredients)),
      dtype_(ParameterType(model_)) {
  model_->to(options_.device);
  if (options_.channels_last) models::ToChannelsLast(*model_);
  validated_ = model_;
}

StepTensors Learner::Inputs(data::Batch& batch) const {
  StepTensors step;
  step.images = inference::BatchImages(batch, dtype_, {options_.device, options_.channels_last});
  step.labels = torch::from_blob(batch.labels.data(), {batch.size}, torch::kLong);
  if (!options_.device.is_cpu()) step.labels = step.labels.to(options_.device);
  return step;
}

absl::Status Learner::Step(LayerGroupOptimizer& optimizer, CallbackList& list, FitState& state) {
  StepTensors& step = *state.step;
  if (absl::Status s = list.ForwardBegin(state); !s.ok()) return s;
  step.logits = model_->forward(step.images);
  if (absl::Status s = list.ForwardEnd(state); !s.ok()) return s;
  step.loss = ingredients_.loss(step.logits, step);
  state.loss = step.loss.item<double>();
  state.skip_step = false;
  state.interrupt_requested = base::InterruptRequested();
  if (absl::Status s = list.Loss(state); !s.ok()) return s;
  if (state.skip_step || !std::isfinite(state.loss)) return absl::OkStatus();
  model_->zero_grad(/*set_to_none=*/true);
  if (absl::Status s = list.BackwardBegin(state); !s.ok()) return s;
  step.loss.backward();
  if (absl::Status s = list.BackwardEnd(state); !s.ok()) return s;
  if (!state.skip_step) optimizer.optimizer->step();
  return absl::OkStatus();
}

absl::StatusOr<Predictions> Learner::Validate(models::Classifier& model) {
  absl::StatusOr<Predictions> local = PredictWith(model, valid_);
  if (!local.ok() || options_.distributed == nullptr) return local;
  return GatherPredictions(options_.distributed, *local, valid_->indices());
}

absl::StatusOr<Predictions> Learner::PredictWith(models::Classifier& model,
                                                 data::BatchLoader* loader) {
  torch::NoGradGuard no_grad;
  model->eval();
  // The ingredients' forward hooks (mixed precision) run around every forward pass.
  std::vector<Callback*> hooks;
  for (const auto& c : ingredients_.callbacks) hooks.push_back(c.get());
  CallbackList list(hooks);
  FitState state;
  state.learner = this;
  absl::Status hook_error;
  const auto forward = [&](const torch::Tensor& view) {
    if (!hook_error.ok()) return view;  // the error is returned after the batch
    if (hook_error = list.ForwardBegin(state); !hook_error.ok()) return view;
    state.step->logits = model->forward(view);
    hook_error = list.ForwardEnd(state);
    return state.step->logits;
  };
  return inference::PredictBatches(
      loader, [&](data::Batch& batch) -> absl::StatusOr<torch::Tensor> {
        StepTensors step = Inputs(batch);
        state.step = &step;
        const torch::Tensor probs = inference::AverageViews(forward, step.images, {});
        state.step = nullptr;
        if (!hook_error.ok()) return hook_error;
        return probs;
      });
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
  Loop loop;
  loop.epochs = stage.epochs();
  loop.total_iterations = schedule->total();
  OneCycleScheduler scheduler(*std::move(schedule));
  NonFiniteLossGuard guard;
  std::unique_ptr<CheckpointSaver> saver;
  if (!options_.checkpoint_dir.empty()) {
    saver = std::make_unique<CheckpointSaver>(options_.checkpoint_dir, options_.config_text);
  }
  InterruptCheck interrupts(InterruptPoll(options_));
  std::vector<Callback*> order = {&scheduler};
  for (const auto& c : ingredients_.callbacks) order.push_back(c.get());
  order.push_back(&guard);
  order.insert(order.end(), callbacks.begin(), callbacks.end());
  order.push_back(saver.get());
  order.push_back(&interrupts);
  CallbackList list(order);
  return RunLoop(stage, stage_index, lrs, loop, list, resume_from);
}

absl::StatusOr<LrFinderResult> Learner::FindLr(const StageConfig& stage, int stage_index) {
  if (train_ == nullptr) return absl::FailedPreconditionError("lr_find needs a training loader");
  const int batches = train_->NumBatches();
  if (batches == 0) {
    return absl::FailedPreconditionError(
        "lr_find: the training set has fewer images than one batch");
  }
  const LrFinderConfig& config = stage.lr_finder();
  LrFinder finder(config, model_->NumLayerGroups());
  Loop loop;
  loop.finder = true;
  loop.epochs = (config.num_iterations() + batches - 1) / batches;
  loop.total_iterations = config.num_iterations();
  InterruptCheck interrupts(InterruptPoll(options_));
  std::vector<Callback*> order = {&finder};
  for (const auto& c : ingredients_.callbacks) order.push_back(c.get());
  order.push_back(&interrupts);
  CallbackList list(order);
  const std::vector<double> lrs(model_->NumLayerGroups(), config.start_lr());
  absl::StatusOr<StageResult> swept = RunLoop(stage, stage_index, lrs, loop, list, "");
  if (!swept.ok()) return swept.status();
  return finder.Result();
}

absl::StatusOr<StageResult> Learner::RunLoop(const StageConfig& stage, int stage_index,
                                             const std::vector<double>& lrs, const Loop& loop,
                                             CallbackList& list, const std::string& resume_from) {
  FitState state;
  state.stage = &stage;
  state.stage_index = stage_index;
  state.finder = loop.finder;
  state.epochs = loop.finder ? 0 : loop.epochs;
  state.batches = train_->NumBatches();
  state.total_iterations = loop.total_iterations;
  state.world_size = options_.distributed != nullptr ? options_.distributed->world_size() : 1;
  state.model = model_.get();
  state.learner = this;
  state.progress.stage_index = stage_index;
  StageResult result;
  result.lrs = lrs;
  absl::Status outcome;
  LayerGroupOptimizer optimizer;
  try {
    model_->FreezeTo(stage.freeze_to(), stage.train_bn());
    optimizer =
        MakeLayerGroupOptimizer(model_, stage.optimizer(), lrs, stage.one_cycle().moms_max());
    state.optimizer = optimizer.optimizer.get();
    outcome = list.FitBegin(state);
    if (outcome.ok() && !resume_from.empty()) outcome = Resume(resume_from, state);
    if (outcome.ok()) outcome = Epochs(stage, loop, optimizer, list, state, result);
  } catch (const std::exception& e) {
    outcome = absl::InternalError(absl::StrCat(Where(state), ": ", base::ExceptionMessage(e)));
  }
  state.step = nullptr;
  try {
    list.FitEnd(state, outcome);
  } catch (const std::exception& e) {
    if (outcome.ok()) {
      outcome = absl::InternalError(absl::StrCat(Where(state), ": ", base::ExceptionMessage(e)));
    }
  }
  if (!outcome.ok()) return outcome;
  result.best_epoch = state.progress.best_epoch;
  return result;
}

absl::Status Learner::Resume(const std::string& path, FitState& state) {
  // With a weight average, the checkpoint's model is the average and the raw weights are beside.
  const bool averaging = validated_.get() != model_.get();
  absl::StatusOr<CheckpointInfo> resumed =
      averaging ? LoadCheckpoint(path, validated_, state.optimizer, model_)
                : LoadCheckpoint(path, model_, state.optimizer);
  if (!resumed.ok()) return resumed.status();
  if (resumed->progress.stage_index != state.stage_index) {
    return absl::FailedPreconditionError(absl::StrCat("checkpoint ", path, " belongs to stage ",
                                                      resumed->progress.stage_index, ", not stage ",
                                                      state.stage_index));
  }
  state.progress = resumed->progress;
  return absl::OkStatus();
}

absl::Status Learner::Epochs(const StageConfig& stage, const Loop& loop,
                             LayerGroupOptimizer& optimizer, CallbackList& list, FitState& state,
                             StageResult& result) {
  const int rank = options_.distributed != nullptr ? options_.distributed->rank() : 0;
  const int full_size = train_->options().image_size;
  for (int epoch = state.progress.epochs_completed + 1; epoch <= loop.epochs; ++epoch) {
    const Clock::time_point start = Clock::now();
    state.epoch = epoch;
    state.batch = 0;
    // The finder seeds once and draws its own passes; a stage seeds and draws every epoch.
    int image_size;
    if (loop.finder) {
      if (epoch == 1) {
        torch::manual_seed(data::MixSeed(options_.seed, data::kFinderStream, state.stage_index));
      }
      image_size = TrainImageSize(stage, 0, full_size);
      train_->StartEpoch(data::EpochKey(data::kFinderStream, state.stage_index, epoch - 1),
                         image_size, /*pass=*/epoch - 1);
    } else {
      torch::manual_seed(
          data::MixSeed(options_.seed, data::kTrainingStream, state.stage_index, epoch, rank));
      image_size = TrainImageSize(stage, epoch - 1, full_size);
      if (ProgressiveResizeOn(stage)) {
        LOG(INFO) << "stage '" << stage.name() << "' epoch " << epoch << ": training images of "
                  << image_size << " px (progressive_resize)";
      }
      train_->StartEpoch(data::EpochKey(data::kEpochStream, state.stage_index, epoch), image_size,
                         /*pass=*/epoch - 1);
    }
    model_->train();
    if (absl::Status s = list.EpochBegin(state); !s.ok()) return s;
    data::Batch batch;
    for (int b = 0; b < state.batches; ++b) {
      absl::StatusOr<bool> more = train_->Next(&batch);
      if (!more.ok()) return more.status();
      if (!*more) break;
      state.batch = b + 1;
      state.batch_size = batch.size;
      state.image_size = batch.image_size;
      state.iteration = static_cast<int64_t>(epoch - 1) * state.batches + b;
      StepTensors step = Inputs(batch);
      state.step = &step;
      if (absl::Status s = list.BatchBegin(state); !s.ok()) return s;
      SetHyperParameters(optimizer, state.lrs, state.mom, stage.optimizer().beta2());
      if (absl::Status s = Step(optimizer, list, state); !s.ok()) return s;
      state.smooth_loss = state.loss;  // LossSmoothing smooths it
      state.epoch_seconds = SecondsSince(start);
      if (absl::Status s = list.BatchEnd(state); !s.ok()) return s;
      state.step = nullptr;
      if (state.stop) return absl::OkStatus();
    }
    if (loop.finder) continue;
    const double train_seconds = SecondsSince(start);

    EpochResult r;
    r.stage = stage.name();
    r.stage_index = state.stage_index;
    r.epoch = epoch;
    r.epochs = stage.epochs();
    r.train_loss = state.smooth_loss;
    r.lrs = state.lrs;
    r.mom = state.mom;
    r.train_images_per_second = static_cast<double>(train_->NumExamples()) * state.world_size /
                                std::max(1e-9, train_seconds);
    if (absl::Status s = Validation(list, state, r); !s.ok()) return s;
    r.seconds = SecondsSince(start);
    state.progress.epochs_completed = epoch;
    state.epoch_seconds = r.seconds;
    state.epoch_result = &r;
    const absl::Status ended = list.EpochEnd(state);
    state.epoch_result = nullptr;
    result.epochs.push_back(std::move(r));
    if (!ended.ok()) return ended;
  }
  return absl::OkStatus();
}

absl::Status Learner::Validation(CallbackList& list, FitState& state, EpochResult& r) {
  if (absl::Status s = list.ValidateBegin(state); !s.ok()) return s;
  absl::StatusOr<Predictions> valid = Validate(validated_);
  if (!valid.ok()) return valid.status();
  r.valid_loss = valid->mean_loss;
  r.accuracy = valid->Accuracy();
  r.error_rate = 1 - r.accuracy;
  r.valid = *std::move(valid);
  state.epoch_result = &r;
  const absl::Status s = list.ValidateEnd(state);
  state.epoch_result = nullptr;
  return s;
}

}  // namespace malaria::training
