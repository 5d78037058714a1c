#include "training/callbacks.h"

#include <cmath>
#include <limits>
#include <string>

#include "gtest/gtest.h"
#include "training/training_config.pb.h"

namespace malaria::training {
namespace {

FitState StateOf(const StageConfig& stage) {
  FitState s;
  s.stage = &stage;
  s.epoch = 2;
  s.batch = 3;
  return s;
}

TEST(CallbacksTest, SchedulerSetsEachBatchsRatesFromTheSchedule) {
  StageConfig stage;
  stage.set_name("s");
  const StageSchedule schedule = *BuildSchedule(stage, {1e-4, 1e-3}, 20);
  OneCycleScheduler scheduler(schedule);
  FitState s = StateOf(stage);
  for (int64_t i : {0, 6, 19}) {
    s.iteration = i;
    ASSERT_TRUE(scheduler.OnBatchBegin(s).ok());
    EXPECT_EQ(s.lrs, schedule.At(i).lrs);
    EXPECT_EQ(s.mom, schedule.At(i).mom);
  }
}

TEST(CallbacksTest, NonFiniteLossStopsTheStageNamingWhere) {
  StageConfig stage;
  stage.set_name("p");
  NonFiniteLossGuard guard;
  FitState s = StateOf(stage);
  s.loss = 0.7;
  EXPECT_TRUE(guard.OnLoss(s).ok());
  EXPECT_FALSE(s.skip_step);
  for (double bad : {std::nan(""), std::numeric_limits<double>::infinity()}) {
    s.loss = bad;
    const absl::Status status = guard.OnLoss(s);
    EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_NE(status.message().find("stage 'p' epoch 2 batch 3: the training loss is "),
              std::string::npos)
        << status;
    EXPECT_TRUE(s.skip_step);
  }
}

TEST(CallbacksTest, BestEpochFollowsTheMonitoredMetric) {
  StageConfig stage;
  for (TrainingConfig::Metric metric : {TrainingConfig::ACCURACY, TrainingConfig::VALID_LOSS}) {
    BestEpochTracker best(metric);
    FitState s = StateOf(stage);
    // (accuracy, valid loss) per epoch: accuracy peaks at epoch 2, the loss is lowest at epoch 3;
    // epoch 4 ties epoch 2's accuracy and keeps the earlier.
    const double accuracy[] = {0.8, 0.9, 0.85, 0.9};
    const double loss[] = {0.5, 0.4, 0.3, 0.35};
    std::vector<bool> is_best;
    for (int e = 0; e < 4; ++e) {
      EpochResult r;
      r.epoch = e + 1;
      r.accuracy = accuracy[e];
      r.valid_loss = loss[e];
      s.epoch_result = &r;
      ASSERT_TRUE(best.OnEpochEnd(s).ok());
      is_best.push_back(r.is_best);
    }
    if (metric == TrainingConfig::ACCURACY) {
      EXPECT_EQ(is_best, (std::vector<bool>{true, true, false, false}));
      EXPECT_EQ(s.progress.best_epoch, 2);
      EXPECT_DOUBLE_EQ(s.progress.best_value, 0.9);
    } else {
      EXPECT_EQ(is_best, (std::vector<bool>{true, true, true, false}));
      EXPECT_EQ(s.progress.best_epoch, 3);
      EXPECT_DOUBLE_EQ(s.progress.best_value, 0.3);
    }
  }
}

bool AlwaysInterrupted() { return true; }

// fastai's smoothed loss, debiased: after losses 1 and 3 with beta 0.5, (0.5*0.5 + 0.5*3) /
// (1 - 0.25) = 7/3; its state in state.progress continues across a "resume".
TEST(CallbacksTest, LossSmoothingIsFastaisDebiasedAverageAndContinuesFromTheProgress) {
  StageConfig stage;
  LossSmoothing smoothing(0.5);
  FitState s = StateOf(stage);
  s.loss = 1;
  ASSERT_TRUE(smoothing.OnBatchEnd(s).ok());
  EXPECT_DOUBLE_EQ(s.smooth_loss, 1);
  FitState resumed = StateOf(stage);
  resumed.progress = s.progress;  // what a checkpoint keeps
  resumed.loss = 3;
  ASSERT_TRUE(smoothing.OnBatchEnd(resumed).ok());
  EXPECT_DOUBLE_EQ(resumed.smooth_loss, 7.0 / 3.0);
  EXPECT_EQ(resumed.progress.smooth_count, 2);
  // Not during the learning-rate finder, which smooths its own.
  FitState finder = StateOf(stage);
  finder.finder = true;
  finder.loss = 5;
  finder.smooth_loss = 5;
  ASSERT_TRUE(smoothing.OnBatchEnd(finder).ok());
  EXPECT_EQ(finder.progress.smooth_count, 0);
}

TEST(CallbacksTest, InterruptsEndTheStageAfterTheBatchOrTheEpoch) {
  StageConfig stage;
  stage.set_name("x");
  InterruptCheck check;
  FitState s = StateOf(stage);
  EXPECT_TRUE(check.OnBatchEnd(s).ok());
  EXPECT_TRUE(check.OnEpochEnd(s).ok());
  s.interrupt_requested = true;
  EXPECT_EQ(check.OnBatchEnd(s).message(), "interrupted during stage 'x' epoch 2 batch 3");
  EXPECT_TRUE(absl::IsCancelled(check.OnBatchEnd(s)));
  EXPECT_EQ(check.OnEpochEnd(s).message(), "interrupted after stage 'x' epoch 2");
  s.finder = true;
  EXPECT_EQ(check.OnBatchEnd(s).message(), "interrupted during the learning-rate finder");
  // A single process also looks at its signal flag at the batch's and the epoch's end.
  InterruptCheck polling(&AlwaysInterrupted);
  FitState quiet = StateOf(stage);
  EXPECT_TRUE(absl::IsCancelled(polling.OnEpochEnd(quiet)));
  FitState quiet_batch = StateOf(stage);
  EXPECT_TRUE(absl::IsCancelled(polling.OnBatchEnd(quiet_batch)));
}

// CallbackList calls hooks in order, stops at the first error, and tears down in reverse.
TEST(CallbacksTest, CallbackListKeepsOrderStopsAtTheFirstErrorAndTearsDownInReverse) {
  std::vector<std::string> calls;
  struct Named : Callback {
    Named(std::string n, std::vector<std::string>* c, bool fail) : name(n), calls(c), fail(fail) {}
    absl::Status OnBatchEnd(FitState&) override {
      calls->push_back(name + ".batch");
      return fail ? absl::CancelledError(name) : absl::OkStatus();
    }
    void OnFitEnd(FitState&, const absl::Status& outcome) override {
      calls->push_back(name + ".end:" + std::string(outcome.message()));
    }
    std::string name;
    std::vector<std::string>* calls;
    bool fail;
  };
  Named a("a", &calls, false), b("b", &calls, true), c("c", &calls, false);
  CallbackList list({&a, nullptr, &b, &c});
  FitState s;
  const absl::Status status = list.BatchEnd(s);
  EXPECT_EQ(status.message(), "b");
  list.FitEnd(s, status);
  EXPECT_EQ(calls,
            (std::vector<std::string>{"a.batch", "b.batch", "c.end:b", "b.end:b", "a.end:b"}));
}

}  // namespace
}  // namespace malaria::training
