#include "experiments/sweep/sweep_state.h"

#include <cmath>
#include <string>

#include "base/files.h"
#include "base/test_util.h"
#include "base/text_table.h"
#include "experiments/config.h"
#include "experiments/store/tracker.h"
#include "experiments/sweep/sweep_spec.h"
#include "experiments/sweep/sweep_test_util.h"
#include "gtest/gtest.h"

namespace malaria::experiments {
namespace {

using sweep_testing::State;
using sweep_testing::Sweep;
using sweep_testing::TrialRun;

TEST(SweepStateTest, AFreshGridPlansEveryTrialOnEveryFold) {
  const SweepConfig s = Sweep("grid {}");
  const SweepState state = State(s, {});
  ASSERT_EQ(state.trials.size(), 4u);
  ASSERT_EQ(state.todo.size(), 8u);
  EXPECT_EQ(state.todo[1].trial, 0);
  EXPECT_EQ(state.todo[1].fold, 1);
  EXPECT_TRUE(state.todo[1].resume_dir.empty());
  EXPECT_FALSE(state.finished);
  EXPECT_EQ(state.best, -1);
  EXPECT_EQ(TrialOverrides(s, state.trials[2], 1),
            (std::vector<std::string>{"seed=3", "name=s-t002", "data.split.patient_kfold.fold=1"}));
}

TEST(SweepStateTest, CompletedFoldsAreSkippedAndCutOffOnesResumed) {
  const SweepConfig s = Sweep("grid {}");
  const SweepState plan = State(s, {});
  std::vector<LoadedRun> runs = {
      TrialRun(s, plan, 0, 0, RunInfo::COMPLETED, 0.90),
      TrialRun(s, plan, 0, 1, RunInfo::COMPLETED, 0.94),
      TrialRun(s, plan, 1, 0, RunInfo::INTERRUPTED, 0),
      TrialRun(s, plan, 1, 1, RunInfo::FAILED, 0),
      TrialRun(s, plan, 2, 0, RunInfo::RUNNING, 0),  // on another machine: left alone
  };
  SweepState state = State(s, runs);
  EXPECT_NEAR(state.trials[0].objective, 0.92, 1e-12);
  EXPECT_NEAR(state.trials[0].objective_sd, std::sqrt(0.0008), 1e-12);
  EXPECT_TRUE(std::isnan(state.trials[1].objective));
  ASSERT_EQ(state.todo.size(), 4u);
  EXPECT_EQ(state.todo[0].trial, 1);
  EXPECT_EQ(state.todo[0].fold, 0);
  EXPECT_EQ(state.todo[0].resume_dir, "/runs/s-t001/20261205-0600-0");
  EXPECT_EQ(state.todo[1].trial, 2);  // trial 1 fold 1 failed: not retried
  EXPECT_EQ(state.todo[1].fold, 1);
  EXPECT_EQ(state.best, 0);
  EXPECT_DOUBLE_EQ(state.tflop, 7.5);
  EXPECT_FALSE(state.finished);
  // Asked to, failed folds are resumed too.
  EXPECT_EQ(State(s, runs, true).todo.size(), 5u);
  // A RUNNING run of this machine whose process is gone is resumed.
  runs[4].info.set_host("here");
  runs[4].info.set_pid(1 << 30);
  state = State(s, runs);
  EXPECT_EQ(state.todo[1].trial, 2);
  EXPECT_EQ(state.todo[1].fold, 0);
  EXPECT_EQ(state.todo[1].resume_dir, "/runs/s-t002/20261205-0600-0");
  const std::string table = base::FormatTextTable(SweepTable(s, state), true);
  EXPECT_NE(table.find("0 *    1     2/2    0.9200 +- 0.0283       3.00   6.0      done"),
            std::string::npos)
      << table;
  EXPECT_NE(table.find("failed"), std::string::npos) << table;
  EXPECT_NE(SweepSummary(s, state).find(
                "best: trial 0, accuracy 0.9200 +- 0.0283 over 2 fold(s): seed=1"),
            std::string::npos)
      << SweepSummary(s, state);
  // One scored trial: nothing was chosen among several, so no selection-bias note.
  EXPECT_EQ(SweepSummary(s, state).find("chosen as the best of"), std::string::npos);
}

TEST(SweepStateTest, TheBudgetStopsNewTrialsButNotStartedOnes) {
  SweepConfig s = Sweep("grid {} budget { max_tflop: 3 }");
  const SweepState plan = State(s, {});
  const std::vector<LoadedRun> runs = {TrialRun(s, plan, 0, 0, RunInfo::COMPLETED, 0.9),
                                       TrialRun(s, plan, 1, 0, RunInfo::COMPLETED, 0.9)};
  SweepState state = State(s, runs);
  EXPECT_TRUE(state.budget_spent);
  ASSERT_EQ(state.todo.size(), 2u);  // trials 0 and 1 finish fold 1; 2 and 3 never start
  EXPECT_EQ(state.todo[0].trial, 0);
  EXPECT_EQ(state.todo[1].trial, 1);
  s.mutable_budget()->set_max_tflop(0);
  s.mutable_budget()->set_max_trials(2);
  EXPECT_EQ(State(s, {}).trials.size(), 2u);
}

TEST(SweepStateTest, SuccessiveHalvingPromotesTheBestThirdOnceARungIsDone) {
  const SweepConfig s = Sweep("successive_halving { min_epochs: 1 max_epochs: 3 eta: 3 }");
  SweepState state = State(s, {});
  ASSERT_EQ(state.trials.size(), 4u);  // rung 0 only, until it is done
  EXPECT_EQ(state.rungs, 2);
  EXPECT_EQ(state.trials[3].assignment,
            (std::vector<std::string>{"seed=4", "training.stage[0].epochs=1"}));
  std::vector<LoadedRun> runs;
  const double accuracy[4] = {0.80, 0.95, 0.85, 0.93};
  for (int t = 0; t < 4; ++t) {
    for (int f = 0; f < 2; ++f)
      runs.push_back(TrialRun(s, state, t, f, RunInfo::COMPLETED, accuracy[t]));
  }
  runs.pop_back();  // trial 3, fold 1 not done: no promotion yet
  EXPECT_EQ(State(s, runs).trials.size(), 4u);
  runs.push_back(TrialRun(s, state, 3, 1, RunInfo::COMPLETED, accuracy[3]));
  state = State(s, runs);
  ASSERT_EQ(state.trials.size(), 6u);  // ceil(4 / 3) = 2 promoted: candidates 1 and 3
  EXPECT_EQ(state.current_rung, 1);
  EXPECT_EQ(state.trials[4].candidate, 1);
  EXPECT_EQ(state.trials[5].candidate, 3);
  EXPECT_EQ(state.trials[5].assignment,
            (std::vector<std::string>{"seed=4", "training.stage[0].epochs=3"}));
  EXPECT_EQ(state.todo.size(), 4u);
  EXPECT_EQ(state.best, 1);  // of rung 0 until rung 1 completes a trial
  for (int f = 0; f < 2; ++f) {
    runs.push_back(TrialRun(s, state, 4, f, RunInfo::COMPLETED, 0.96, "20261205-0700"));
    runs.push_back(TrialRun(s, state, 5, f, RunInfo::COMPLETED, 0.97, "20261205-0700"));
  }
  state = State(s, runs);
  EXPECT_TRUE(state.finished);
  EXPECT_EQ(state.best, 5);
}

// The choice repeated without each fold: trial 0 is best over the three folds (0.93) on the
// strength of fold 2 alone; held out, fold 2 is scored by trial 1 (best on folds 0 and 1), folds
// 0 and 1 by trial 0, each 0.90: the nested estimate is 0.90, not 0.93.
TEST(SweepStateTest, TheNestedEstimateChoosesWithoutTheFoldItScores) {
  const SweepConfig s = Sweep("grid {}");
  const SweepState plan = State(s, {}, false, 3);
  const double accuracy[3][3] = {{0.90, 0.90, 0.99}, {0.95, 0.91, 0.90}, {0.89, 0.96, 0.91}};
  std::vector<LoadedRun> runs;
  for (int t = 0; t < 3; ++t) {
    for (int f = 0; f < 3; ++f) {
      runs.push_back(
          TrialRun(s, plan, t, f, RunInfo::COMPLETED, accuracy[t][f], "20261205-0600", 3));
    }
  }
  // Trial 3 completed one fold only: not among those chosen from.
  runs.push_back(TrialRun(s, plan, 3, 0, RunInfo::COMPLETED, 0.99, "20261205-0600", 3));
  const SweepState state = State(s, runs, false, 3);
  ASSERT_EQ(state.best, 0);
  absl::StatusOr<NestedEstimate> n = NestedSelection(s, state);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(n->candidates, 3);
  EXPECT_EQ(n->chosen, (std::vector<int>{0, 0, 1}));
  EXPECT_NEAR(n->mean, 0.90, 1e-12);
  EXPECT_NEAR(n->sd, 0.0, 1e-12);
  EXPECT_NEAR(n->best_mean, (0.90 + 0.90 + 0.99) / 3, 1e-12);
  EXPECT_EQ(n->runs[2], "/runs/s-t001/20261205-0600-2");
  EXPECT_NE(SweepSummary(s, state).find("nested estimate (the choice among 3 trials repeated "
                                        "without each fold, each fold scored by the trial best "
                                        "on the others): accuracy 0.9000 +- 0.0000 over 3 folds, "
                                        "against the best trial's own 0.9300 (-0.0300)"),
            std::string::npos)
      << SweepSummary(s, state);
  // One trial to choose from: no choice, no estimate.
  runs.resize(3);
  const absl::StatusOr<NestedEstimate> one = NestedSelection(s, State(s, runs, false, 3));
  ASSERT_FALSE(one.ok());
  EXPECT_NE(one.status().message().find("a choice needs at least two"), std::string::npos);
}

TEST(SweepStateTest, ARunOfAnotherConfigUnderTheSameNameIsRefused) {
  const SweepConfig s = Sweep("grid {}");
  const SweepState plan = State(s, {});
  LoadedRun run = TrialRun(s, plan, 1, 0, RunInfo::COMPLETED, 0.9);
  run.info.mutable_sweep()->set_assignment(0, "seed=9");
  const absl::StatusOr<SweepState> state = ReadSweepState(s, 2, {run}, "here");
  ASSERT_FALSE(state.ok());
  EXPECT_NE(state.status().message().find(
                "records trial 1 as {seed=9} but this sweep config plans {seed=2}: the sweep "
                "config changed under the same name"),
            absl::string_view::npos)
      << state.status();
}

TEST(SweepStateTest, AFinishedGridSaysSo) {
  const SweepConfig s = Sweep("grid {}");
  const SweepState plan = State(s, {});
  std::vector<LoadedRun> runs;
  for (int t = 0; t < 4; ++t) {
    for (int f = 0; f < 2; ++f)
      runs.push_back(TrialRun(s, plan, t, f, RunInfo::COMPLETED, 0.9 + t / 100.0));
  }
  const SweepState state = State(s, runs);
  EXPECT_TRUE(state.finished);
  EXPECT_TRUE(state.todo.empty());
  EXPECT_EQ(state.best, 3);
  EXPECT_NE(SweepSummary(s, state).find("(chosen as the best of 4 scored trials on these same "
                                        "folds: optimistic for new patients"),
            std::string::npos)
      << SweepSummary(s, state);
}

// A trial fold refused before it started is failed; retried, it starts anew (there is nothing to
// resume), while a run that failed in training is resumed.
TEST(SweepStateTest, ARefusedFoldIsRetriedFromTheStart) {
  const SweepConfig s = Sweep("grid {}");
  const SweepState plan = State(s, {});
  LoadedRun refused = TrialRun(s, plan, 0, 0, RunInfo::FAILED, 0);
  refused.info.set_not_started(true);
  const LoadedRun crashed = TrialRun(s, plan, 0, 1, RunInfo::FAILED, 0);
  SweepState state = State(s, {refused, crashed});
  EXPECT_EQ(TrialStatus(state.trials[0], false), "failed");
  EXPECT_TRUE(state.trials[0].folds[0].not_started);
  state = State(s, {refused, crashed}, /*retry=*/true);
  ASSERT_GE(state.todo.size(), 2u);
  EXPECT_EQ(state.todo[0].fold, 0);
  EXPECT_TRUE(state.todo[0].resume_dir.empty());
  EXPECT_EQ(state.todo[1].fold, 1);
  EXPECT_EQ(state.todo[1].resume_dir, crashed.dir.path());
}

// budget.max_trials may be raised, not lowered below a trial that ran.
TEST(SweepStateTest, ALoweredTrialBudgetBelowWhatRanIsRefused) {
  const SweepConfig s = Sweep("grid {}");
  const SweepState plan = State(s, {});
  const LoadedRun run = TrialRun(s, plan, 2, 0, RunInfo::COMPLETED, 0.9);
  const absl::StatusOr<SweepState> state =
      ReadSweepState(Sweep("grid {} budget { max_trials: 2 }"), 2, {run}, "here");
  ASSERT_FALSE(state.ok());
  EXPECT_NE(state.status().message().find("budget.max_trials is 2 but trial 2 already has runs"),
            absl::string_view::npos)
      << state.status();
}

}  // namespace
}  // namespace malaria::experiments
