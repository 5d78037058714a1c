#include "experiments/store/metrics_table.h"

#include <cmath>

#include "gtest/gtest.h"

namespace malaria::experiments {
namespace {

EpochRow Row(int stage_index, const std::string& stage, int epoch, double accuracy, bool best) {
  EpochRow r;
  r.stage_index = stage_index;
  r.stage = stage;
  r.epoch = epoch;
  r.accuracy = accuracy;
  r.error_rate = 1 - accuracy;
  r.seconds = 10 * epoch;
  r.false_negatives = epoch;
  r.best = best;
  r.precision = 0.5;
  r.patient_accuracy = std::nan("");
  return r;
}

TEST(MetricsTableTest, CsvRoundTripsAndReplacesRows) {
  MetricsTable t;
  t.Add(Row(0, "stage1", 1, 0.8, true));
  t.Add(Row(0, "stage1", 2, 0.9, true));
  t.Add(Row(1, "stage2", 1, 0.85, true));
  t.Add(Row(0, "stage1", 2, 0.91, true));  // replaces
  ASSERT_EQ(t.rows().size(), 3u);
  const std::string csv = t.ToCsv();
  EXPECT_EQ(csv.substr(0, csv.find('\n')), MetricsTable::Header());
  absl::StatusOr<MetricsTable> back = MetricsTable::FromCsv(csv, {"stage1", "stage2"});
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_EQ(back->rows().size(), 3u);
  EXPECT_EQ(back->rows()[1].accuracy, 0.91);
  EXPECT_EQ(back->rows()[2].stage_index, 1);
  EXPECT_EQ(back->rows()[2].false_negatives, 1);
  EXPECT_EQ(back->rows()[2].precision, 0.5);
  EXPECT_TRUE(std::isnan(back->rows()[2].patient_accuracy));
  EXPECT_EQ(back->ToCsv(), csv);
}

TEST(MetricsTableTest, TrimDropsLaterEpochsAndStages) {
  MetricsTable t;
  for (int e = 1; e <= 3; ++e) t.Add(Row(0, "a", e, 0.5, false));
  t.Add(Row(1, "b", 1, 0.5, false));
  t.TrimTo(0, 2);
  ASSERT_EQ(t.rows().size(), 2u);
  EXPECT_EQ(t.rows().back().epoch, 2);
}

TEST(MetricsTableTest, SummaryOfAStage) {
  MetricsTable t;
  t.Add(Row(0, "a", 1, 0.80, true));
  t.Add(Row(0, "a", 2, 0.90, true));
  t.Add(Row(0, "a", 3, 0.85, false));
  StageSummary s;
  t.Summarize(0, &s);
  EXPECT_EQ(s.epochs_completed(), 3);
  EXPECT_EQ(s.best_epoch(), 2);
  EXPECT_DOUBLE_EQ(s.best_accuracy(), 0.90);
  EXPECT_DOUBLE_EQ(s.final_accuracy(), 0.85);
  EXPECT_DOUBLE_EQ(s.mean_epoch_seconds(), 20);
  EXPECT_FALSE(s.has_achieved_gflops());  // no compute recorded (older runs)
}

// The achieved rate: the FLOPs counted per second of a stage's epochs after its first (which
// decodes the images and runs the learning-rate finder); a one-epoch stage's own.
TEST(MetricsTableTest, AchievedRateSkipsEachStagesFirstEpoch) {
  MetricsTable t;
  const double cumulative[][2] = {{5, 1}, {7, 1.5}, {9, 2}, {12, 2.5}};  // train, valid TFLOP
  for (int e = 1; e <= 4; ++e) {
    EpochRow r = Row(e <= 3 ? 0 : 1, e <= 3 ? "a" : "b", e <= 3 ? e : 1, 0.9, false);
    r.seconds = 10;
    r.train_tflop = cumulative[e - 1][0];
    r.valid_tflop = cumulative[e - 1][1];
    t.Add(r);
  }
  StageSummary a, b;
  t.Summarize(0, &a);
  t.Summarize(1, &b);
  EXPECT_DOUBLE_EQ(a.achieved_gflops(), 1000 * (2.5 + 2.5) / 20);  // epochs 2 and 3
  EXPECT_DOUBLE_EQ(b.achieved_gflops(), 1000 * 3.5 / 10);          // its only epoch
}

TEST(MetricsTableTest, ReadsTheFifteenColumnsOfOlderRuns) {
  const absl::StatusOr<MetricsTable> t = MetricsTable::FromCsv(
      "stage,epoch,train_loss,valid_loss,accuracy,error_rate,lr,seconds,sensitivity,specificity,"
      "f1,roc_auc,false_negatives,false_positives,best\n"
      "a,1,0.9,0.7,0.58,0.42,0.0003,122.5,0.5,0.6,0.55,0.61,12,9,1\n",
      {"a"});
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->rows()[0].accuracy, 0.58);
  EXPECT_EQ(t->rows()[0].false_positives, 9);
  EXPECT_TRUE(t->rows()[0].best);
}

TEST(MetricsTableTest, ReadsTheTwentyColumnsOfRunsBeforeTimeToAccuracy) {
  const absl::StatusOr<MetricsTable> t = MetricsTable::FromCsv(
      "stage,epoch,train_loss,valid_loss,accuracy,error_rate,lr,seconds,sensitivity,specificity,"
      "f1,roc_auc,false_negatives,false_positives,best,precision,false_negative_rate,"
      "false_positive_rate,calibration_error,patient_accuracy\n"
      "a,1,0.9,0.7,0.58,0.42,0.0003,122.5,0.5,0.6,0.55,0.61,12,9,1,0.5,0.1,0.2,0.03,0.8\n",
      {"a"});
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_DOUBLE_EQ(t->rows()[0].patient_accuracy, 0.8);
  EXPECT_TRUE(std::isnan(t->rows()[0].raw_accuracy));
  EXPECT_TRUE(std::isnan(t->rows()[0].elapsed_seconds));
  EXPECT_TRUE(t->TimesToAccuracy({0.5}).empty());  // no wall time recorded: nothing to say
}

// The wall time at which each threshold was first reached, over the stages in order.
TEST(MetricsTableTest, TimeToAccuracyIsTheFirstEpochAtOrAboveEachThreshold) {
  MetricsTable t;
  const double accuracy[] = {0.80, 0.93, 0.91, 0.95, 0.955};
  for (int e = 0; e < 5; ++e) {
    EpochRow r;
    r.stage_index = e < 2 ? 0 : 1;
    r.stage = e < 2 ? "a" : "b";
    r.epoch = e < 2 ? e + 1 : e - 1;
    r.accuracy = accuracy[e];
    r.elapsed_seconds = 60.0 * (e + 1);
    r.train_tflop = 1.5 * (e + 1);
    t.Add(r);
  }
  const std::vector<TimeToAccuracy> times = t.TimesToAccuracy({0.90, 0.95, 0.96});
  ASSERT_EQ(times.size(), 2u);  // 0.96 never reached
  EXPECT_DOUBLE_EQ(times[0].seconds, 120);
  EXPECT_EQ(times[0].stage, "a");
  EXPECT_EQ(times[0].epoch, 2);
  EXPECT_DOUBLE_EQ(times[1].seconds, 240);
  EXPECT_DOUBLE_EQ(times[1].tflop, 6);
  EXPECT_EQ(times[1].stage, "b");
  EXPECT_EQ(times[1].epoch, 2);
  // The columns round-trip.
  const MetricsTable back = *MetricsTable::FromCsv(t.ToCsv(), {"a", "b"});
  EXPECT_DOUBLE_EQ(back.rows()[3].elapsed_seconds, 240);
  EXPECT_DOUBLE_EQ(back.rows()[3].train_tflop, 6);
  EXPECT_TRUE(std::isnan(back.rows()[3].valid_tflop));
}

TEST(MetricsTableTest, MalformedCsvNamesTheLine) {
  EXPECT_FALSE(MetricsTable::FromCsv("nope\n", {"a"}).ok());
  const std::string header = std::string(MetricsTable::Header()) + "\n";
  absl::StatusOr<MetricsTable> t = MetricsTable::FromCsv(header + "a,1,2\n", {"a"});
  EXPECT_NE(t.status().message().find("line 2"), std::string::npos) << t.status();
  t = MetricsTable::FromCsv(header + "zz,1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0\n", {"a"});
  EXPECT_NE(t.status().message().find("unknown stage 'zz'"), std::string::npos) << t.status();
}

}  // namespace
}  // namespace malaria::experiments
