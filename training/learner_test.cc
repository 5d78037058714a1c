#include "training/learner.h"

#include <c10/util/Exception.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <set>

#include "base/files.h"
#include "base/interrupt.h"
#include "base/test_util.h"
#include "data/data_config.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "data/random.h"
#include "data/split.h"
#include "data/synthetic.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "models/flops.h"
#include "training/checkpoint.h"
#include "training/checkpoint_saver.h"
#include "training/ingredients.h"
#include "training/patch_whitening.h"
#include "training/schedule.h"

namespace malaria::training {
namespace {

template <typename T>
T Parse(const std::string& text) {
  T message;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &message)) << text;
  return message;
}

class LearnerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    at::set_num_threads(2);
    const std::string dir = base::JoinPath(std::getenv("TEST_TMPDIR"), "cells");
    std::filesystem::remove_all(dir);
    data::SyntheticOptions options;
    options.num_images = 400;
    options.image_size = 56;
    options.seed = 3;
    ASSERT_TRUE(data::WriteSyntheticDataset(dir, options).ok());
    const absl::StatusOr<data::Dataset> ds = data::ScanImageFolder(dir);
    ASSERT_TRUE(ds.ok());
    source_ = new std::shared_ptr<data::ImageSource>(std::make_shared<data::ImageSource>(
        data::ImageSource::Load(*ds, 48, 2, int64_t{1} << 30, nullptr)));
  }
  static void TearDownTestSuite() { delete source_; }

  void SetUp() override {
    torch::manual_seed(0);
    const data::Split split = data::RandomSplit((*source_)->dataset().examples.size(), 0.25, 1);
    data::DataConfig config;
    config.set_batch_size(32);
    config.set_image_size(48);
    config.mutable_augmentation()->set_max_warp(0);
    data::FillDataDefaults(&config);
    const data::LoaderOptions o =
        *data::BuildLoaderOptions(config, data::LoaderRole::kEvaluation, /*seed=*/5, 2);
    const data::LoaderOptions t =
        *data::BuildLoaderOptions(config, data::LoaderRole::kTraining, /*seed=*/5, 2);
    train_ = std::make_unique<data::BatchLoader>(*source_, split.train, t);
    valid_ = std::make_unique<data::BatchLoader>(*source_, split.valid, o);
    model_ = *models::BuildClassifier(Parse<models::ModelConfig>("architecture: 'resnet18'"), 2);
  }

  // A learner over model_ with seed 17, NCHW batches and the ingredients `training` (a
  // TrainingConfig in text format) turns on.
  Learner MakeLearner(const std::string& checkpoint_dir = "", const std::string& training = "",
                      const std::string& config_text = "") {
    Learner::Options options;
    options.seed = 17;
    options.channels_last = false;
    options.checkpoint_dir = checkpoint_dir;
    options.config_text = config_text;
    IngredientContext context;
    context.seed = options.seed;
    context.model = model_->config();
    absl::StatusOr<TrainingCallbacks> ingredients =
        BuildCallbacks(Parse<TrainingConfig>(training), context);
    EXPECT_TRUE(ingredients.ok()) << ingredients.status();
    return Learner(model_, train_.get(), valid_.get(), options, *std::move(ingredients));
  }

  static std::shared_ptr<data::ImageSource>* source_;
  std::unique_ptr<data::BatchLoader> train_, valid_;
  models::Classifier model_{nullptr};
};
std::shared_ptr<data::ImageSource>* LearnerTest::source_ = nullptr;

TEST_F(LearnerTest, FrozenStageKeepsConvolutionsBitIdenticalAndTrainsBatchNormAndHead) {
  const torch::Tensor conv =
      model_->body->layer2[0]->as<models::BasicBlockImpl>()->conv1->weight.clone();
  const torch::Tensor bn = model_->body->bn1->weight.clone();
  const torch::Tensor head = model_->head[4]->as<torch::nn::Linear>()->weight.clone();
  Learner learner = MakeLearner();
  const StageConfig stage =
      Parse<StageConfig>("name: 'frozen' epochs: 1 freeze_to: -1 lr { max: 1e-2 }");
  const absl::StatusOr<StageResult> result = learner.Fit(stage, 0, {1e-2, 1e-2, 1e-2});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(
      torch::equal(conv, model_->body->layer2[0]->as<models::BasicBlockImpl>()->conv1->weight));
  EXPECT_FALSE(torch::equal(bn, model_->body->bn1->weight));
  EXPECT_FALSE(torch::equal(head, model_->head[4]->as<torch::nn::Linear>()->weight));
}

TEST_F(LearnerTest, TwoStagesLearnTheSyntheticTaskAndReportEpochs) {
  Learner learner = MakeLearner();
  const StageConfig s1 = Parse<StageConfig>("name: 'stage1' epochs: 2 freeze_to: -1");
  const StageConfig s2 = Parse<StageConfig>("name: 'stage2' epochs: 5 freeze_to: 0");
  absl::StatusOr<StageResult> r1 = learner.Fit(s1, 0, {1e-2, 1e-2, 1e-2});
  ASSERT_TRUE(r1.ok()) << r1.status();
  absl::StatusOr<StageResult> r2 = learner.Fit(
      s2, 1, *LayerGroupLrs(Parse<LearningRate>("slice { start: 1e-3 stop: 3e-3 }"), 3));
  ASSERT_TRUE(r2.ok()) << r2.status();
  ASSERT_EQ(r2->epochs.size(), 5u);
  for (const auto* r : {&*r1, &*r2}) {
    for (const EpochResult& e : r->epochs) {
      std::cout << e.stage << " " << e.epoch << " train " << e.train_loss << " valid "
                << e.valid_loss << " acc " << e.accuracy << "\n";
    }
  }
  const EpochResult& last = r2->epochs.back();
  EXPECT_EQ(last.stage, "stage2");
  EXPECT_EQ(last.epoch, 5);
  EXPECT_EQ(last.valid.size(), 100);
  EXPECT_DOUBLE_EQ(last.error_rate, 1 - last.accuracy);
  EXPECT_GT(last.accuracy, 0.8) << "valid loss " << last.valid_loss;
  EXPECT_GT(last.seconds, 0);
  EXPECT_LT(last.lrs[2], 3e-3 / 25);  // annealed at the end of the cycle
}

// The compute meter: training counts 3 x the forward FLOPs of every image trained; validation
// counts PreciseBN's batches and the validation pass exactly (both are forward passes here).
TEST_F(LearnerTest, ComputeMeterCountsTrainingAndValidationFlops) {
  Learner learner = MakeLearner("", "precise_bn { batches: 2 }");
  const StageConfig stage = Parse<StageConfig>("name: 'stage' epochs: 1 freeze_to: 0");
  absl::StatusOr<StageResult> r = learner.Fit(stage, 0, {1e-3, 1e-3, 1e-3});
  ASSERT_TRUE(r.ok()) << r.status();
  const double per_image = models::ForwardFlopsPerImage(*model_, {3, 48, 48});
  EXPECT_GT(per_image, 1e8);
  const EpochResult& e = r->epochs.front();
  EXPECT_DOUBLE_EQ(e.train_flops, 3 * per_image * train_->NumExamples());
  EXPECT_DOUBLE_EQ(e.eval_flops, per_image * (2 * 32 + e.valid.size()));
}

// Progressive resizing: a 3-epoch stage ramping 32 -> 48 px from epoch 0 to epoch 2 (0-based)
// trains on 32, 40 and 48 px batches; validation stays at the loader's 48 px.
TEST_F(LearnerTest, ProgressiveResizeTrainsEachEpochAtItsSize) {
  struct SizeRecorder : Callback {
    std::vector<std::set<int>> sizes;
    absl::Status OnEpochBegin(FitState&) override {
      sizes.emplace_back();
      return absl::OkStatus();
    }
    absl::Status OnBatchBegin(FitState& s) override {
      sizes.back().insert(s.image_size);
      return absl::OkStatus();
    }
  } recorder;
  Learner learner = MakeLearner();
  const StageConfig stage = Parse<StageConfig>(
      "name: 'ramp' epochs: 3 progressive_resize { start_size: 32 end_epoch: 2 }");
  const absl::StatusOr<StageResult> result = learner.Fit(stage, 0, {1e-3, 1e-3, 1e-3}, {&recorder});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(recorder.sizes, (std::vector<std::set<int>>{{32}, {40}, {48}}));
  ASSERT_EQ(result->epochs.size(), 3u);
  EXPECT_EQ(result->epochs.back().valid.size(), 100);
}

TEST_F(LearnerTest, LrFinderRestoresWeightsAndSuggestsARate) {
  std::vector<torch::Tensor> before;
  for (const auto& p : model_->parameters()) before.push_back(p.clone());
  for (const auto& b : model_->buffers()) before.push_back(b.clone());
  Learner learner = MakeLearner();
  const StageConfig stage =
      Parse<StageConfig>("name: 's' freeze_to: -1 lr_finder { num_iterations: 30 }");
  const absl::StatusOr<LrFinderResult> r = learner.FindLr(stage, 0);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_GE(r->lrs.size(), 5u);
  EXPECT_DOUBLE_EQ(r->lrs[0], 1e-7);
  for (size_t i = 1; i < r->lrs.size(); ++i) EXPECT_GT(r->lrs[i], r->lrs[i - 1]);
  EXPECT_GT(r->suggestion_steepest, 0);
  EXPECT_GT(r->suggestion_min_div_10, 0);
  size_t i = 0;
  for (const auto& p : model_->parameters()) EXPECT_TRUE(torch::equal(p, before[i++]));
  for (const auto& b : model_->buffers()) EXPECT_TRUE(torch::equal(b, before[i++]));
}

// The checkpoint callback alone: _last.pt after every epoch (with the optimizer), _best.pt only
// when the epoch is the best so far.
TEST_F(LearnerTest, CheckpointSaverWritesLastEveryEpochAndBestOnlyWhenBest) {
  const std::string dir = base::TestDir("saver");
  CheckpointSaver saver(dir, "name: \"saver\"");
  const StageConfig stage = Parse<StageConfig>("name: 's' epochs: 3");
  torch::optim::SGD sgd(model_->parameters(), torch::optim::SGDOptions(0.1));
  Learner learner = MakeLearner();
  FitState state;
  state.learner = &learner;
  state.stage = &stage;
  state.optimizer = &sgd;
  EpochResult first;
  first.is_best = false;
  state.epoch_result = &first;
  state.progress.epochs_completed = 1;
  ASSERT_TRUE(saver.OnEpochEnd(state).ok());
  EXPECT_TRUE(base::PathExists(dir + "/s_last.pt"));
  EXPECT_FALSE(base::PathExists(dir + "/s_best.pt"));
  EXPECT_TRUE(ReadCheckpointInfo(dir + "/s_last.pt")->has_optimizer);
  EpochResult second;
  second.is_best = true;
  state.epoch_result = &second;
  state.progress.epochs_completed = 2;
  state.progress.best_epoch = 2;
  ASSERT_TRUE(saver.OnEpochEnd(state).ok());
  const absl::StatusOr<CheckpointInfo> best = ReadCheckpointInfo(dir + "/s_best.pt");
  ASSERT_TRUE(best.ok()) << best.status();
  EXPECT_EQ(best->progress.best_epoch, 2);
  EXPECT_FALSE(best->has_optimizer);
  EXPECT_EQ(best->config_text, "name: \"saver\"");
  EXPECT_EQ(ReadCheckpointInfo(dir + "/s_last.pt")->progress.epochs_completed, 2);
}

TEST_F(LearnerTest, CheckpointsRoundTripAndRefuseAnotherArchitecture) {
  const std::string dir = base::JoinPath(std::getenv("TEST_TMPDIR"), "ckpt");
  ASSERT_TRUE(base::MakeDirs(dir).ok());
  Learner learner = MakeLearner(dir, "", "name: \"ckpt_test\"");
  const StageConfig stage = Parse<StageConfig>("name: 'one' epochs: 1 freeze_to: -1");
  ASSERT_TRUE(learner.Fit(stage, 0, {1e-3, 1e-3, 1e-3}).ok());
  EXPECT_TRUE(base::PathExists(dir + "/one_last.pt"));
  EXPECT_TRUE(base::PathExists(dir + "/one_best.pt"));

  models::Classifier copy =
      *models::BuildClassifier(Parse<models::ModelConfig>("architecture: 'resnet18'"), 2);
  const absl::StatusOr<CheckpointInfo> info = LoadCheckpoint(dir + "/one_last.pt", copy);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->architecture, "resnet18");
  EXPECT_EQ(info->config_text, "name: \"ckpt_test\"");
  EXPECT_TRUE(info->has_optimizer);
  EXPECT_EQ(info->progress.epochs_completed, 1);
  EXPECT_EQ(info->progress.best_epoch, 1);
  EXPECT_TRUE(torch::equal(copy->head[8]->as<torch::nn::Linear>()->weight,
                           model_->head[8]->as<torch::nn::Linear>()->weight));
  EXPECT_TRUE(torch::equal(copy->body->bn1->running_mean, model_->body->bn1->running_mean));
  EXPECT_FALSE(LoadCheckpoint(dir + "/one_best.pt", copy)->has_optimizer);

  models::Classifier other =
      *models::BuildClassifier(Parse<models::ModelConfig>("architecture: 'resnet34'"), 2);
  const absl::Status s = LoadCheckpoint(dir + "/one_last.pt", other).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("resnet18"), std::string::npos);
  EXPECT_NE(s.message().find("resnet34"), std::string::npos);
  EXPECT_EQ(LoadCheckpoint(dir + "/none.pt", copy).status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(base::WriteFileAtomically(dir + "/bad.pt", "garbage").ok());
  EXPECT_EQ(LoadCheckpoint(dir + "/bad.pt", copy).status().code(), absl::StatusCode::kDataLoss);
}

// A whitening stem is filled from the training loader's whitening epoch before the first step (the
// weight average starts from it too) and stays so through training; without BatchNorm scales the
// body's BatchNorm weights stay 1. The network still learns the synthetic task.
TEST_F(LearnerTest, WhiteningStemIsComputedBeforeTrainingAndNeverMoves) {
  const std::string config =
      "architecture: 'resnet' shape { widths: [16, 32] blocks: [1, 1] } input_channels: 1 "
      "stem { kernel_size: 3 stride: 2 max_pool: false whiten: true whiten_images: 80 } "
      "batch_norm_scale: false";
  model_ = *models::BuildClassifier(Parse<models::ModelConfig>(config), 2);
  const torch::Tensor initial = model_->body->conv1->weight.clone();
  Learner learner = MakeLearner("", "weight_average { decay: 0.9 } precise_bn { batches: 2 }");
  const StageConfig stage = Parse<StageConfig>(
      "name: 'w' epochs: 3 freeze_to: 0 lr { max: 1e-2 } optimizer { "
      "bn_lr_scale: 4 }");
  const absl::StatusOr<StageResult> result = learner.Fit(stage, 0, {1e-2, 1e-2, 1e-2});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_GT(result->epochs.back().accuracy, 0.75);

  // The same filters from the same 80 images (two and a half batches of the whitening epoch).
  models::Classifier expected = *models::BuildClassifier(Parse<models::ModelConfig>(config), 2);
  train_->StartEpoch(data::EpochKey(data::kWhiteningStream, 0, 0));
  std::vector<torch::Tensor> images;
  data::Batch batch;
  for (int taken = 0; taken < 80; taken += batch.size) {
    ASSERT_TRUE(*train_->Next(&batch));
    images.push_back(learner.Inputs(batch).images.slice(0, 0, 80 - taken).clone());
  }
  ASSERT_TRUE(models::SetPatchWhitening(*expected, torch::cat(images), 5e-4).ok());
  const torch::Tensor trained = model_->body->conv1->weight;
  EXPECT_FALSE(torch::equal(trained, initial));
  // The same up to the last bit of the eigendecomposition's arithmetic (the weight average leaves
  // parameters that do not train alone: //training:ema_test).
  EXPECT_TRUE(torch::allclose(trained, expected->body->conv1->weight, /*rtol=*/1e-6, /*atol=*/0));
  EXPECT_TRUE(torch::equal(learner.validated_model()->body->conv1->weight, trained));
  EXPECT_TRUE(torch::equal(model_->body->layer2[0]->as<models::BasicBlockImpl>()->bn1->weight,
                           torch::ones({32})));
}

// The filters are computed from images once: a later fit (the next stage, or the stage after a
// finder sweep that restored the weights it started from) gets the same filters without reading.
TEST_F(LearnerTest, WhiteningIsComputedOncePerRun) {
  model_ = *models::BuildClassifier(
      Parse<models::ModelConfig>(
          "architecture: 'resnet' shape { widths: [16, 32] blocks: [1, 1] } input_channels: 1 "
          "stem { kernel_size: 3 stride: 2 max_pool: false whiten: true whiten_images: 80 }"),
      2);
  Learner learner = MakeLearner("", "");
  PatchWhitening whitening(80, 5e-4);
  FitState state;
  state.learner = &learner;
  ASSERT_TRUE(whitening.OnFitBegin(state).ok());
  torch::Tensor& weight = model_->body->conv1->weight;
  const torch::Tensor filters = weight.detach().clone();
  {
    torch::NoGradGuard no_grad;
    weight.zero_();  // as a finder sweep's restore would leave it
  }
  ASSERT_TRUE(whitening.OnFitBegin(state).ok());
  EXPECT_TRUE(torch::equal(weight, filters));
  EXPECT_EQ(whitening.computations(), 1);
}

// Interrupted in the middle of epoch 2 and resumed from the last checkpoint, a stage ends with
// exactly the metrics and weights of an uninterrupted one: with the defaults, and with every
// ingredient that keeps state across epochs or draws random numbers (the weight average and its
// raw-weight validation, PreciseBN, mixup, label smoothing).
class ResumeTest : public LearnerTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(ResumeTest, ResumedStageEqualsUninterruptedStage) {
  const std::string training = GetParam();
  const StageConfig stage = Parse<StageConfig>("name: 'r' epochs: 3 freeze_to: -1");
  const std::vector<double> lrs = {3e-3, 3e-3, 3e-3};
  auto fresh = [&]() {
    torch::manual_seed(0);
    return *models::BuildClassifier(Parse<models::ModelConfig>("architecture: 'resnet18'"), 2);
  };
  const std::string full_dir = base::TestDir("full");
  const std::string cut_dir = base::TestDir("cut");

  model_ = fresh();
  const absl::StatusOr<StageResult> full = MakeLearner(full_dir, training).Fit(stage, 0, lrs);
  ASSERT_TRUE(full.ok()) << full.status();
  const torch::Tensor full_weight = model_->head[8]->as<torch::nn::Linear>()->weight.clone();

  struct InterruptInEpoch2 : Callback {
    absl::Status OnBatchEnd(FitState& s) override {
      if (s.epoch == 2 && s.batch == 3) base::RequestInterrupt();
      return absl::OkStatus();
    }
  } interrupt;
  model_ = fresh();
  const absl::StatusOr<StageResult> cut =
      MakeLearner(cut_dir, training).Fit(stage, 0, lrs, {&interrupt});
  base::ClearInterrupt();
  ASSERT_EQ(cut.status().code(), absl::StatusCode::kCancelled);

  model_ = *models::BuildClassifier(Parse<models::ModelConfig>("architecture: 'resnet18'"), 2);
  const absl::StatusOr<StageResult> resumed =
      MakeLearner(cut_dir, training).Fit(stage, 0, lrs, {}, cut_dir + "/r_last.pt");
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  ASSERT_EQ(resumed->epochs.size(), 2u);  // epochs 2 and 3
  for (int e = 0; e < 2; ++e) {
    const EpochResult& a = full->epochs[e + 1];
    const EpochResult& b = resumed->epochs[e];
    EXPECT_EQ(a.epoch, b.epoch);
    EXPECT_EQ(a.train_loss, b.train_loss) << "epoch " << a.epoch;
    EXPECT_EQ(a.valid_loss, b.valid_loss) << "epoch " << a.epoch;
    EXPECT_EQ(a.accuracy, b.accuracy);
    EXPECT_EQ(a.is_best, b.is_best);
    if (std::isnan(a.raw_accuracy)) {
      EXPECT_TRUE(std::isnan(b.raw_accuracy));
    } else {
      EXPECT_EQ(a.raw_accuracy, b.raw_accuracy);
      EXPECT_EQ(a.raw_valid_loss, b.raw_valid_loss);
    }
  }
  EXPECT_EQ(full->best_epoch, resumed->best_epoch);
  EXPECT_TRUE(torch::equal(full_weight, model_->head[8]->as<torch::nn::Linear>()->weight));
}

INSTANTIATE_TEST_SUITE_P(Ingredients, ResumeTest,
                         ::testing::Values("",
                                           "weight_average { decay: 0.9 } precise_bn { batches: "
                                           "2 } mixup { alpha: 0.4 } loss { label_smoothing: 0.1 "
                                           "}"));

// The learner learns: on the synthetic cells (which need the parasite's shape and colour, not just
// a colour count), unfrozen training reaches 95 % validation accuracy within 120 steps.
TEST_F(LearnerTest, ReachesNinetyFivePercentWithinBoundedSteps) {
  Learner learner = MakeLearner();
  const StageConfig stage = Parse<StageConfig>("name: 'all' epochs: 12 freeze_to: 0");
  ASSERT_LE(train_->NumBatches() * stage.epochs(), 120);
  const absl::StatusOr<StageResult> r = learner.Fit(stage, 0, {2e-3, 4e-3, 8e-3});
  ASSERT_TRUE(r.ok()) << r.status();
  for (const EpochResult& e : r->epochs) {
    std::cout << "epoch " << e.epoch << " valid loss " << e.valid_loss << " accuracy " << e.accuracy
              << "\n";
  }
  EXPECT_GE(r->epochs.back().accuracy, 0.95);
}

// A NaN loss (here from a poisoned weight, as a corrupt batch would cause) stops the stage with a
// message naming where, and leaves the last completed epoch's checkpoint intact and finite.
TEST_F(LearnerTest, NanLossStopsTheStageAndKeepsTheLastGoodCheckpoint) {
  const std::string dir = base::JoinPath(std::getenv("TEST_TMPDIR"), "nan");
  ASSERT_TRUE(base::MakeDirs(dir).ok());
  struct Poison : Callback {
    models::Classifier model{nullptr};
    absl::Status OnBatchEnd(FitState& s) override {
      if (s.epoch == 2 && s.batch == 2) {
        torch::NoGradGuard no_grad;
        model->head[8]->as<torch::nn::Linear>()->weight[0][0] = std::nanf("");
      }
      return absl::OkStatus();
    }
  } poison;
  poison.model = model_;
  Learner learner = MakeLearner(dir);
  const StageConfig stage = Parse<StageConfig>("name: 'p' epochs: 3 freeze_to: -1");
  const absl::StatusOr<StageResult> r = learner.Fit(stage, 0, {1e-3, 1e-3, 1e-3}, {&poison});
  ASSERT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("stage 'p' epoch 2 batch 3: the training loss is nan"),
            std::string::npos)
      << r.status();
  models::Classifier copy =
      *models::BuildClassifier(Parse<models::ModelConfig>("architecture: 'resnet18'"), 2);
  const absl::StatusOr<CheckpointInfo> info = LoadCheckpoint(dir + "/p_last.pt", copy);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->progress.epochs_completed, 1);
  for (const auto& p : copy->parameters()) EXPECT_TRUE(torch::isfinite(p).all().item<bool>());
}

TEST_F(LearnerTest, InterruptStopsAfterTheCurrentBatch) {
  struct InterruptAtBatch2 : Callback {
    int batches = 0;
    absl::Status OnBatchEnd(FitState& s) override {
      ++batches;
      if (s.batch == 2) base::RequestInterrupt();
      return absl::OkStatus();
    }
  } callback;
  Learner learner = MakeLearner();
  const StageConfig stage = Parse<StageConfig>("name: 'x' epochs: 2 freeze_to: -1");
  const absl::StatusOr<StageResult> r = learner.Fit(stage, 0, {1e-3, 1e-3, 1e-3}, {&callback});
  base::ClearInterrupt();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(callback.batches, 2);
}

TEST_F(LearnerTest, SameSeedSameResults) {
  const StageConfig stage = Parse<StageConfig>("name: 'x' epochs: 1 freeze_to: -1");
  torch::manual_seed(0);
  model_ = *models::BuildClassifier(Parse<models::ModelConfig>("architecture: 'resnet18'"), 2);
  const double a = MakeLearner().Fit(stage, 0, {1e-3, 1e-3, 1e-3})->epochs[0].valid_loss;
  torch::manual_seed(0);
  model_ = *models::BuildClassifier(Parse<models::ModelConfig>("architecture: 'resnet18'"), 2);
  const double b = MakeLearner().Fit(stage, 0, {1e-3, 1e-3, 1e-3})->epochs[0].valid_loss;
  EXPECT_EQ(a, b);
}

// An exception from LibTorch inside the loop ends the stage with an error that says where, and
// every callback's teardown (OnFitEnd) runs with that error: here the finder's restores the
// weights, and a stage's checkpoints of the last completed epoch stay.
TEST_F(LearnerTest, AnExceptionInTheLoopEndsTheStageWithTeardown) {
  struct ThrowAt : Callback {
    int epoch, batch;
    absl::Status seen = absl::OkStatus();
    bool ended = false;
    ThrowAt(int e, int b) : epoch(e), batch(b) {}
    absl::Status OnForwardBegin(FitState& s) override {
      TORCH_CHECK(!(s.epoch == epoch && s.batch == batch), "a kernel failed");
      return absl::OkStatus();
    }
    void OnFitEnd(FitState& s, const absl::Status& outcome) override {
      ended = true;
      seen = outcome;
    }
  };
  const std::string dir = base::TestDir("thrown");
  Learner learner = MakeLearner(dir);
  ThrowAt stage_thrower(2, 2);
  const StageConfig stage = Parse<StageConfig>("name: 't' epochs: 2 freeze_to: -1");
  const absl::StatusOr<StageResult> r = learner.Fit(stage, 0, {1e-3, 1e-3, 1e-3}, {&stage_thrower});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInternal);
  EXPECT_NE(r.status().message().find("stage 't' epoch 2 batch 2: a kernel failed"),
            std::string::npos)
      << r.status();
  EXPECT_TRUE(stage_thrower.ended);
  EXPECT_EQ(stage_thrower.seen, r.status());
  const absl::StatusOr<CheckpointInfo> kept = ReadCheckpointInfo(dir + "/t_last.pt");
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_EQ(kept->progress.epochs_completed, 1);

  std::vector<torch::Tensor> before;
  for (const auto& p : model_->parameters()) before.push_back(p.clone());
  struct ThrowInFinder : Callback {
    absl::Status OnBatchEnd(FitState& s) override {
      TORCH_CHECK(s.iteration < 3, "the sweep failed");
      return absl::OkStatus();
    }
  } finder_thrower;
  // The finder's callbacks are its own; the ingredients are the learner's. A learner whose
  // ingredients include the thrower shows the finder's teardown.
  TrainingCallbacks ingredients;
  ingredients.callbacks.push_back(std::make_unique<ThrowInFinder>());
  Learner::Options options;
  options.channels_last = false;
  Learner throwing(model_, train_.get(), valid_.get(), options, std::move(ingredients));
  const absl::StatusOr<LrFinderResult> found = throwing.FindLr(
      Parse<StageConfig>("name: 's' freeze_to: -1 lr_finder { num_iterations: 10 }"), 0);
  EXPECT_EQ(found.status().code(), absl::StatusCode::kInternal);
  EXPECT_NE(found.status().message().find("the learning-rate finder: the sweep failed"),
            std::string::npos)
      << found.status();
  size_t i = 0;
  for (const auto& p : model_->parameters()) EXPECT_TRUE(torch::equal(p, before[i++]));
}

}  // namespace
}  // namespace malaria::training
