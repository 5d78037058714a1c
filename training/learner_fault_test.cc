// The Learner when things go wrong or stop: checkpoints written and read back, a stage interrupted
// and resumed, a NaN loss, an interrupt, an exception in the loop; and the same seed's same
// results.
#include <c10/util/Exception.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdlib>
#include <memory>

#include "base/files.h"
#include "base/interrupt.h"
#include "base/test_util.h"
#include "gtest/gtest.h"
#include "training/checkpoint.h"
#include "training/checkpoint_saver.h"
#include "training/learner.h"
#include "training/learner_fixture.h"

namespace malaria::training {
namespace {

using learner_testing::Parse;

class LearnerFaultTest : public learner_testing::LearnerFixture {};

// The checkpoint callback alone: _last.pt after every epoch (with the optimizer), _best.pt only
// when the epoch is the best so far.
TEST_F(LearnerFaultTest, CheckpointSaverWritesLastEveryEpochAndBestOnlyWhenBest) {
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

TEST_F(LearnerFaultTest, CheckpointsRoundTripAndRefuseAnotherArchitecture) {
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

// Interrupted in the middle of epoch 2 and resumed from the last checkpoint, a stage ends with
// exactly the metrics and weights of an uninterrupted one: with the defaults, and with every
// ingredient that keeps state across epochs or draws random numbers (the weight average and its
// raw-weight validation, PreciseBN, mixup, label smoothing).
class ResumeTest : public LearnerFaultTest, public ::testing::WithParamInterface<const char*> {};

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

// A NaN loss (here from a poisoned weight, as a corrupt batch would cause) stops the stage with a
// message naming where, and leaves the last completed epoch's checkpoint intact and finite.
TEST_F(LearnerFaultTest, NanLossStopsTheStageAndKeepsTheLastGoodCheckpoint) {
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

TEST_F(LearnerFaultTest, InterruptStopsAfterTheCurrentBatch) {
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

TEST_F(LearnerFaultTest, SameSeedSameResults) {
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
TEST_F(LearnerFaultTest, AnExceptionInTheLoopEndsTheStageWithTeardown) {
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
