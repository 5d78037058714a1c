#include "experiments/store/kfold.h"

#include <cmath>
#include <filesystem>
#include <fstream>
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
  if (fold != 1) run.info.set_training_tflop(20 + 2 * fold);  // fold 1: recorded before compute
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
  const FoldedMetric& minutes = s.metrics[s.metrics.size() - 3];
  EXPECT_EQ(minutes.name, "train_minutes");
  EXPECT_NEAR(minutes.mean, 2 * (60 + 61 + 62) / 3.0 / 60, 1e-12);  // 2 epochs of 60 + fold s
  const FoldedMetric& tflop = s.metrics[s.metrics.size() - 2];
  EXPECT_EQ(tflop.name, "train_tflop");
  EXPECT_EQ(tflop.counted, 2);
  EXPECT_NEAR(tflop.mean, 22, 1e-9);  // folds 0 and 2: 20 and 24
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

// A k-fold summary over `accuracy` and `roc_auc` per present fold, each fold's run directory
// holding split/valid.txt with `cells[i]` (none when empty).
KFoldSummary Summary(const std::string& name, std::vector<int> present,
                     std::vector<std::string> cells, std::vector<double> accuracy,
                     std::vector<double> roc_auc) {
  KFoldSummary s;
  s.experiment = name;
  s.folds = 5;
  s.fingerprint = "abc";
  s.present = std::move(present);
  for (size_t i = 0; i < s.present.size(); ++i) {
    const std::string dir =
        testing::TempDir() + "/pair/" + name + "/fold" + std::to_string(s.present[i]);
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir + "/split");
    if (!cells[i].empty()) std::ofstream(dir + "/split/valid.txt") << cells[i];
    s.runs.push_back(dir);
  }
  s.metrics = {Folded("accuracy", std::move(accuracy)), Folded("roc_auc", std::move(roc_auc))};
  return s;
}

// Folds pair when both completed them on the same validation cells; the differences, their t and
// the folds up / down are over those folds only.
TEST(KFoldTest, PairsFoldsWithTheSameValidationCells) {
  const KFoldSummary a = Summary("base", {0, 1, 2, 3}, {"c0", "c1", "c2", "c3"},
                                 {0.948, 0.962, 0.958, 0.5}, {0.99, 0.99, 0.99, 0.5});
  const KFoldSummary b = Summary("longer", {0, 1, 2, 3, 4}, {"c0", "c1", "c2", "other cells", "c4"},
                                 {0.952, 0.964, 0.961, 0.9, 0.9}, {0.99, 0.98, 1.0, 0.9, 0.9});
  const absl::StatusOr<PairedKFolds> p = PairKFolds(a, b);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->folds, (std::vector<int>{0, 1, 2}));  // fold 3's cells differ, fold 4 only in b
  ASSERT_EQ(p->unpaired.size(), 1u);
  EXPECT_EQ(p->unpaired[0], "fold 3: other validation cells (split/valid.txt differs)");
  ASSERT_EQ(p->metrics.size(), 2u);
  const PairedKFolds::Metric& accuracy = p->metrics[0];
  EXPECT_NEAR(accuracy.mean_a, (0.948 + 0.962 + 0.958) / 3, 1e-12);
  EXPECT_NEAR(accuracy.mean_b, (0.952 + 0.964 + 0.961) / 3, 1e-12);
  EXPECT_NEAR(accuracy.difference.mean, 0.003, 1e-12);  // differences 0.004, 0.002, 0.003
  EXPECT_NEAR(accuracy.difference.sd, 0.001, 1e-12);
  EXPECT_EQ(accuracy.higher, 3);
  EXPECT_EQ(accuracy.lower, 0);

  const base::TextTable table = PairedTable(*p);
  ASSERT_EQ(table.rows.size(), 2u);
  // t = 0.003 / (0.001 / sqrt(3)) = 5.196 with 2 degrees of freedom: beyond 4.303.
  EXPECT_EQ(table.rows[0],
            (std::vector<std::string>{"accuracy", "0.9560", "0.9590", "+0.0030 +- 0.0010",
                                      "5.20 (2)", "yes", "3 / 0"}));
  // Differences 0, -0.01, +0.01: mean 0, t 0, one fold up and one down.
  EXPECT_EQ(table.rows[1],
            (std::vector<std::string>{"roc_auc", "0.9900", "0.9900", "+0.0000 +- 0.0100",
                                      "0.00 (2)", "no", "1 / 1"}));
  const std::string text = PairedText(*p);
  EXPECT_NE(text.find("longer against base, paired over fold(s) 0, 1, 2"), std::string::npos)
      << text;
  EXPECT_NE(text.find("not paired: fold 3: other validation cells"), std::string::npos) << text;
}

// A fold where one side lacks a metric counts for neither mean: both means and the difference are
// over the same folds. A difference without spread is beyond chance (t infinite) unless it is 0.
TEST(KFoldTest, PairedMeansSkipFoldsWhereEitherSideLacksTheMetric) {
  const double nan = std::nan("");
  const KFoldSummary a =
      Summary("a", {0, 1, 2}, {"c0", "c1", "c2"}, {0.5, 0.75, 0.25}, {0.98, 0.99, 0.97});
  const KFoldSummary b =
      Summary("b", {0, 1, 2}, {"c0", "c1", "c2"}, {0.625, nan, 0.375}, {0.98, 0.99, 0.97});
  const absl::StatusOr<PairedKFolds> p = PairKFolds(a, b);
  ASSERT_TRUE(p.ok()) << p.status();
  const PairedKFolds::Metric& accuracy = p->metrics[0];
  EXPECT_EQ(accuracy.mean_a, 0.375);  // (0.5 + 0.25) / 2, not 0.5 with fold 1's 0.75
  EXPECT_EQ(accuracy.mean_b, 0.5);
  EXPECT_EQ(accuracy.difference.mean, 0.125);  // exact in binary: the sd is exactly 0
  EXPECT_EQ(accuracy.difference.counted, 2);
  const base::TextTable table = PairedTable(*p);
  EXPECT_EQ(table.rows[0],
            (std::vector<std::string>{"accuracy", "0.3750", "0.5000", "+0.1250 +- 0.0000",
                                      "inf (1)", "yes", "2 / 0"}));
  EXPECT_EQ(table.rows[1], (std::vector<std::string>{"roc_auc", "0.9800", "0.9800",
                                                     "+0.0000 +- 0.0000", "-", "no", "0 / 0"}));

  // 0.91 - 0.90 and 0.21 - 0.20 differ by rounding alone (sd about 2e-17): still no spread.
  const KFoldSummary c = Summary("c", {0, 1}, {"c0", "c1"}, {0.90, 0.20}, {0.9, 0.9});
  const KFoldSummary d = Summary("d", {0, 1}, {"c0", "c1"}, {0.91, 0.21}, {0.9, 0.9});
  const absl::StatusOr<PairedKFolds> rounded = PairKFolds(c, d);
  ASSERT_TRUE(rounded.ok()) << rounded.status();
  EXPECT_GT(rounded->metrics[0].difference.sd, 0);  // what the guard is for
  EXPECT_EQ(PairedTable(*rounded).rows[0][4], "inf (1)");
}

TEST(KFoldTest, PairingNeedsTheSameFoldsDataAndCellFiles) {
  const KFoldSummary a = Summary("a", {0}, {"c0"}, {0.9}, {0.9});
  KFoldSummary b = Summary("b", {0}, {""}, {0.95}, {0.95});  // no split/valid.txt
  absl::StatusOr<PairedKFolds> p = PairKFolds(a, b);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(p->folds.empty());
  ASSERT_EQ(p->unpaired.size(), 1u);
  EXPECT_NE(p->unpaired[0].find("fold0/split/valid.txt"), std::string::npos) << p->unpaired[0];
  EXPECT_NE(PairedText(*p).find("b against a: no fold with the same validation cells"),
            std::string::npos);

  b.folds = 10;
  p = PairKFolds(a, b);
  EXPECT_EQ(p.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(p.status().message(), "a has 5 folds, b 10: not the same folds");
  b.folds = 5;
  b.fingerprint = "def";
  p = PairKFolds(a, b);
  EXPECT_EQ(p.status().message(),
            "a and b were trained on different data (fingerprints abc and def)");
}

TEST(KFoldTest, TCritical95MatchesStudentsTable) {
  EXPECT_DOUBLE_EQ(TCritical95(1), 12.706);
  EXPECT_DOUBLE_EQ(TCritical95(4), 2.776);
  EXPECT_NEAR(TCritical95(11), 2.201, 0.001);
  EXPECT_NEAR(TCritical95(30), 2.042, 0.001);
  EXPECT_NEAR(TCritical95(1000), 1.962, 0.001);
  EXPECT_TRUE(std::isnan(TCritical95(0)));
}

}  // namespace
}  // namespace malaria::experiments
