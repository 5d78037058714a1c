#include "training/schedule.h"

#include <cmath>

#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace malaria::training {
namespace {

constexpr double kPi = 3.14159265358979323846;

LearningRate Lr(const std::string& text) {
  LearningRate lr;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &lr)) << text;
  return lr;
}

TEST(ScheduleTest, AnnealingFunctionsMatchFastai) {
  EXPECT_DOUBLE_EQ(AnnealingCos(1, 0, 0), 1);
  EXPECT_DOUBLE_EQ(AnnealingCos(1, 0, 1), 0);
  EXPECT_DOUBLE_EQ(AnnealingCos(1, 0, 0.5), 0.5);
  EXPECT_NEAR(AnnealingCos(2, 1, 0.25), 1 + 0.5 * (std::cos(kPi / 4) + 1), 1e-15);
  EXPECT_DOUBLE_EQ(AnnealingExp(1e-7, 10, 0), 1e-7);
  EXPECT_NEAR(AnnealingExp(1e-7, 10, 0.5), std::sqrt(1e-7 * 10), 1e-12);
}

StageConfig Stage(const std::string& text) {
  StageConfig stage;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &stage)) << text;
  return stage;
}

// FFCV's get_resolution with start_ramp 1, end_ramp 4, 32 -> 50 px: epochs 0-1 at 32, then
// 32 + 18 * (e - 1) / 3 = 38, 44 and 50 from epoch 4 on.
TEST(ScheduleTest, ProgressiveResizeRampsLinearlyFromStartToFullSize) {
  const StageConfig stage =
      Stage("epochs: 6 progressive_resize { start_size: 32 start_epoch: 1 end_epoch: 4 }");
  std::vector<int> sizes;
  for (int e = 0; e < 6; ++e) sizes.push_back(TrainImageSize(stage, e, 50));
  EXPECT_EQ(sizes, (std::vector<int>{32, 32, 38, 44, 50, 50}));
  // Rounded to the nearest pixel: 32 + 18 / 4 = 36.5 -> 37 (std::lround, halves away from 0).
  const StageConfig four = Stage("epochs: 5 progressive_resize { start_size: 32 end_epoch: 4 }");
  EXPECT_EQ(TrainImageSize(four, 1, 50), 37);
  EXPECT_EQ(TrainImageSize(four, 2, 50), 41);
  // Unset: every epoch at the full size.
  EXPECT_EQ(TrainImageSize(Stage("epochs: 3"), 0, 50), 50);
}

// The study's stage 1 on its data: 22,046 training images / 64 = 344 batches x 8 epochs.
TEST(ScheduleTest, OneCycleMatchesTheClosedForm) {
  OneCycle c;
  c.lr_max = 3e-3;
  const int64_t total = 344 * 8;                         // 2752
  const int64_t a1 = static_cast<int64_t>(total * 0.3);  // 825
  ASSERT_EQ(a1, 825);
  // Start: lr_max / 25, momentum 0.95.
  EXPECT_NEAR(OneCycleAt(c, 0, total).lr, 3e-3 / 25, 1e-18);
  EXPECT_DOUBLE_EQ(OneCycleAt(c, 0, total).mom, 0.95);
  // Peak at a1: lr_max, momentum 0.85.
  EXPECT_NEAR(OneCycleAt(c, a1, total).lr, 3e-3, 1e-18);
  EXPECT_DOUBLE_EQ(OneCycleAt(c, a1, total).mom, 0.85);
  // Middle of the warm-up: halfway in cosine terms.
  const double low = 3e-3 / 25;
  const double pct = 400.0 / 825;
  EXPECT_NEAR(OneCycleAt(c, 400, total).lr, 3e-3 + (low - 3e-3) / 2 * (std::cos(kPi * pct) + 1),
              1e-15);
  // Annealing: at the last batch, nearly lr_max / (25 * 1e4).
  const double final_lr = low / 1e4;
  const double last_pct = static_cast<double>(total - 1 - a1) / (total - a1);
  EXPECT_NEAR(OneCycleAt(c, total - 1, total).lr,
              final_lr + (3e-3 - final_lr) / 2 * (std::cos(kPi * last_pct) + 1), 1e-18);
  EXPECT_LT(OneCycleAt(c, total - 1, total).lr, 1e-7);
  EXPECT_NEAR(OneCycleAt(c, total - 1, total).mom, 0.95, 1e-5);
  // Monotone rise then fall.
  for (int64_t i = 1; i <= a1; ++i)
    EXPECT_GT(OneCycleAt(c, i, total).lr, OneCycleAt(c, i - 1, total).lr);
  for (int64_t i = a1 + 1; i < total; ++i)
    EXPECT_LT(OneCycleAt(c, i, total).lr, OneCycleAt(c, i - 1, total).lr);
}

TEST(ScheduleTest, OneCycleFromConfigUsesEveryField) {
  OneCycleConfig config;
  config.set_pct_start(0.5);
  config.set_div_factor(10);
  config.set_final_div_factor(100);
  config.set_moms_max(0.9);
  config.set_moms_min(0.8);
  const OneCycle c = OneCycleFromConfig(config, 1.0);
  EXPECT_DOUBLE_EQ(OneCycleAt(c, 0, 10).lr, 0.1);
  EXPECT_DOUBLE_EQ(OneCycleAt(c, 5, 10).lr, 1.0);
  EXPECT_DOUBLE_EQ(OneCycleAt(c, 5, 10).mom, 0.8);
  EXPECT_NEAR(OneCycleAt(c, 10, 10).lr, 0.1 / 100, 1e-15);
  EXPECT_DOUBLE_EQ(OneCycleAt(c, 0, 10).mom, 0.9);
}

TEST(ScheduleTest, TinyCyclesDoNotDivideByZero) {
  OneCycle c;
  EXPECT_DOUBLE_EQ(OneCycleAt(c, 0, 1).lr, c.lr_max / 25);  // a1 = 0
  EXPECT_TRUE(std::isfinite(OneCycleAt(c, 1, 2).lr));
}

TEST(ScheduleTest, SliceSpreadsGeometricallyOverLayerGroups) {
  const auto lrs = LayerGroupLrs(Lr("slice { start: 1e-6 stop: 1e-5 }"), 3);
  ASSERT_TRUE(lrs.ok()) << lrs.status();
  ASSERT_EQ(lrs->size(), 3u);
  EXPECT_DOUBLE_EQ((*lrs)[0], 1e-6);
  EXPECT_NEAR((*lrs)[1], 3.1622776601683795e-06, 1e-18);
  EXPECT_DOUBLE_EQ((*lrs)[2], 1e-5);
}

TEST(ScheduleTest, SliceOfStopGivesATenthToAllButTheHead) {
  const auto lrs = LayerGroupLrs(Lr("slice { stop: 1e-3 }"), 3);
  ASSERT_TRUE(lrs.ok());
  EXPECT_EQ(*lrs, (std::vector<double>{1e-4, 1e-4, 1e-3}));
  EXPECT_EQ(*LayerGroupLrs(Lr("max: 3e-3"), 3), (std::vector<double>{3e-3, 3e-3, 3e-3}));
}

TEST(ScheduleTest, InvalidLearningRatesAreErrors) {
  EXPECT_FALSE(LayerGroupLrs(Lr("max: 0"), 3).ok());
  EXPECT_FALSE(LayerGroupLrs(Lr("max: -1"), 3).ok());
  EXPECT_FALSE(LayerGroupLrs(Lr("slice { start: 1e-4 stop: 1e-5 }"), 3).ok());
  EXPECT_FALSE(LayerGroupLrs(Lr("slice { start: 1e-4 }"), 3).ok());
  EXPECT_FALSE(LayerGroupLrs(Lr("auto: true"), 3).ok());
  EXPECT_FALSE(LayerGroupLrs(LearningRate(), 3).ok());
  EXPECT_EQ(LayerGroupLrs(Lr("max: 20"), 3).status().message(),
            "lr.max: must be in (0, 10), got 20");
  EXPECT_EQ(LayerGroupLrs(Lr("slice { start: 0 stop: 1e-3 }"), 3).status().message(),
            "lr.slice.start: must be > 0, got 0");
}

TEST(ScheduleTest, BuildScheduleGivesEachLayerGroupItsOwnCycle) {
  StageConfig stage;
  stage.set_name("s");
  stage.mutable_one_cycle()->set_pct_start(0.25);
  const absl::StatusOr<StageSchedule> schedule = BuildSchedule(stage, {1e-4, 1e-3, 1e-2}, 40);
  ASSERT_TRUE(schedule.ok()) << schedule.status();
  EXPECT_EQ(schedule->groups(), 3);
  for (int64_t i : {0, 7, 10, 25, 39}) {
    const StageSchedule::Point p = schedule->At(i);
    ASSERT_EQ(p.lrs.size(), 3u);
    for (int g = 0; g < 3; ++g) {
      OneCycle cycle = OneCycleFromConfig(stage.one_cycle(), std::pow(10.0, g - 4));
      EXPECT_DOUBLE_EQ(p.lrs[g], OneCycleAt(cycle, i, 40).lr) << i << " " << g;
      EXPECT_DOUBLE_EQ(p.mom, OneCycleAt(cycle, i, 40).mom);
    }
  }
  EXPECT_DOUBLE_EQ(schedule->At(10).lrs[2], 1e-2);  // the peak, at pct_start of 40 batches
  EXPECT_FALSE(BuildSchedule(stage, {}, 40).ok());
  EXPECT_FALSE(BuildSchedule(stage, {1e-3}, 0).ok());
  EXPECT_FALSE(BuildSchedule(stage, {-1e-3}, 40).ok());
}

TEST(ScheduleTest, SmoothedValueIsDebiasedLikeFastai) {
  SmoothedValue s(0.98);
  EXPECT_DOUBLE_EQ(s.Add(2.0), 2.0);  // debiasing makes the first value exact
  const double expected = (0.98 * 0.02 * 2.0 + 0.02 * 4.0) / (1 - 0.98 * 0.98);
  EXPECT_NEAR(s.Add(4.0), expected, 1e-12);
  EXPECT_EQ(s.count(), 2);
}

TEST(ScheduleTest, FinderSuggestionsAreFastaisSteepestDescentAndMinimumOverTen) {
  // 30 points: the loss falls slowly, then fastest between points 19 and 21, bottoms out at 24,
  // then explodes. The first 10 and last 5 points are not considered for the steepest descent.
  std::vector<double> lrs, losses;
  for (int i = 0; i < 30; ++i) {
    lrs.push_back(1e-6 * std::pow(2.0, i));
    double loss = 2.0 - 0.01 * i;
    if (i >= 20) loss -= 0.5 + 0.05 * (i - 20);
    if (i > 24) loss += 0.8 * (i - 24);
    losses.push_back(loss);
  }
  losses[2] = -5;  // a glitch inside the skipped head: not the steepest descent...
  losses[28] = std::nan("");
  const LrSuggestions s = SuggestLearningRates(lrs, losses);
  EXPECT_DOUBLE_EQ(s.steepest, lrs[20]);  // numpy.gradient is steepest at the drop (19 and 21)
  // ...but the minimum counts every finite point.
  EXPECT_DOUBLE_EQ(s.minimum_div_10, lrs[2] / 10);
  losses[2] = 2.0;
  EXPECT_DOUBLE_EQ(SuggestLearningRates(lrs, losses).minimum_div_10, lrs[24] / 10);
  // Short curves use every point.
  EXPECT_DOUBLE_EQ(SuggestLearningRates({1e-3, 1e-2, 1e-1}, {1.0, 0.5, 0.4}).steepest, 1e-3);
  EXPECT_DOUBLE_EQ(SuggestLearningRates({}, {}).steepest, 0);
}

}  // namespace
}  // namespace malaria::training
