// What the Learner learns and computes: frozen and unfrozen stages, the compute meter, progressive
// resizing, the learning-rate finder, the whitening stem, and learning the synthetic task.
#include "training/learner.h"

#include <torch/torch.h>

#include <cmath>
#include <memory>
#include <set>

#include "base/files.h"
#include "base/test_util.h"
#include "data/random.h"
#include "gtest/gtest.h"
#include "models/flops.h"
#include "training/learner_fixture.h"
#include "training/patch_whitening.h"
#include "training/schedule.h"

namespace malaria::training {
namespace {

using learner_testing::Parse;

class LearnerTest : public learner_testing::LearnerFixture {};

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

}  // namespace
}  // namespace malaria::training
