#include "experiments/kfold.h"

#include <cmath>
#include <string>

#include "gtest/gtest.h"

namespace malaria::experiments {
namespace {

LoadedRun Fold(int fold, const std::string& id, double accuracy, RunInfo::Status status,
               double seconds_to_95 = -1) {
  LoadedRun run{RunDirectory::Open("/runs/exp/" + id)};
  run.info.set_experiment("exp");
  run.info.set_run_id(id);
  run.info.set_status(status);
  run.info.mutable_dataset()->set_fingerprint("abc");
  StageSummary* stage = run.info.add_stage();
  stage->set_epochs_completed(2);
  stage->set_mean_epoch_seconds(60 + fold);
  if (seconds_to_95 >= 0) {
    AccuracyReached* r = run.info.add_time_to_accuracy();
    r->set_threshold(0.95);
    r->set_seconds(seconds_to_95);
  }
  run.config.mutable_data()->mutable_split()->mutable_patient_kfold()->set_folds(5);
  run.config.mutable_data()->mutable_split()->mutable_patient_kfold()->set_fold(fold);
  run.config.mutable_evaluation()->add_accuracy_thresholds(0.95);
  run.has_final_report = true;
  run.final_report.set_accuracy(accuracy);
  run.final_report.set_roc_auc(0.99);
  return run;
}

TEST(KFoldTest, FoldsAreAggregatedWithTheLatestCompletedRunOfEach) {
  std::vector<LoadedRun> runs = {
      Fold(0, "20261201-100000", 0.94, RunInfo::COMPLETED, 600),
      Fold(0, "20261201-110000", 0.96, RunInfo::COMPLETED, 500),  // later: replaces the first
      Fold(1, "20261201-100500", 0.95, RunInfo::COMPLETED),       // never reached 0.95 in time
      Fold(2, "20261201-101000", 0.97, RunInfo::COMPLETED, 700),
      Fold(3, "20261201-101500", 0.99, RunInfo::FAILED),  // not counted
  };
  LoadedRun other = Fold(0, "20261201-100000", 0.5, RunInfo::COMPLETED);
  other.config.mutable_data()->mutable_split()->clear_patient_kfold();  // not a k-fold run
  runs.push_back(other);

  const std::vector<KFoldSummary> all = SummarizeKFolds(runs);
  ASSERT_EQ(all.size(), 1u);
  const KFoldSummary& s = all[0];
  EXPECT_EQ(s.experiment, "exp");
  EXPECT_EQ(s.folds, 5);
  EXPECT_EQ(s.present, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(s.missing, (std::vector<int>{3, 4}));
  EXPECT_EQ(s.runs[0], "/runs/exp/20261201-110000");
  const FoldedMetric& accuracy = s.metrics[0];
  EXPECT_EQ(accuracy.name, "accuracy");
  EXPECT_NEAR(accuracy.mean, (0.96 + 0.95 + 0.97) / 3, 1e-12);
  EXPECT_NEAR(accuracy.sd, 0.01, 1e-12);  // sample standard deviation of 0.95, 0.96, 0.97
  const FoldedMetric& time = s.metrics.back();
  EXPECT_EQ(time.name, "s_to_0.95");
  EXPECT_EQ(time.counted, 2);
  EXPECT_NEAR(time.mean, 600, 1e-9);

  const std::string text = KFoldText(s);
  EXPECT_NE(text.find("3 of 5 folds"), std::string::npos) << text;
  EXPECT_NE(text.find("0.9600 +- 0.0100"), std::string::npos) << text;
  EXPECT_NE(text.find("600 +- 141 (2 folds)"), std::string::npos) << text;
  EXPECT_NE(text.find("missing: fold(s) 3, 4"), std::string::npos) << text;
}

// One fold has no spread: its mean row shows the value alone, not "+- 0".
TEST(KFoldTest, OneFoldShowsNoStandardDeviation) {
  const std::vector<KFoldSummary> all =
      SummarizeKFolds({Fold(0, "20261201-100000", 0.94, RunInfo::COMPLETED, 600)});
  ASSERT_EQ(all.size(), 1u);
  const base::TextTable table = KFoldTable(all[0]);
  ASSERT_EQ(table.rows.size(), 2u);
  EXPECT_EQ(table.rows[1][0], "mean +- sd");
  EXPECT_EQ(table.rows[1][1], "0.9400");
}

TEST(KFoldTest, FoldedIgnoresMissingValues) {
  const FoldedMetric m = Folded("x", {1.0, std::nan(""), 3.0});
  EXPECT_EQ(m.counted, 2);
  EXPECT_DOUBLE_EQ(m.mean, 2.0);
  EXPECT_DOUBLE_EQ(m.sd, std::sqrt(2.0));
  EXPECT_EQ(Folded("y", {}).counted, 0);
}

// Seconds per epoch over stages: each stage's mean weighted by its epochs; NaN with none.
TEST(KFoldTest, MeanEpochSecondsWeightsStagesByEpochs) {
  RunInfo info;
  EXPECT_TRUE(std::isnan(MeanEpochSeconds(info)));
  StageSummary* frozen = info.add_stage();
  frozen->set_epochs_completed(1);
  frozen->set_mean_epoch_seconds(10);
  StageSummary* unfrozen = info.add_stage();
  unfrozen->set_epochs_completed(3);
  unfrozen->set_mean_epoch_seconds(30);
  EXPECT_DOUBLE_EQ(MeanEpochSeconds(info), (10 + 3 * 30) / 4.0);
}

}  // namespace
}  // namespace malaria::experiments
