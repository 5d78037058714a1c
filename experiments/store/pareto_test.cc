#include "experiments/store/pareto.h"

#include <cmath>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace malaria::experiments {
namespace {

ParetoPoint Point(const std::string& name, double accuracy, double tflop, double minutes) {
  ParetoPoint p;
  p.name = name;
  p.accuracy = accuracy;
  p.tflop = tflop;
  p.minutes = minutes;
  return p;
}

TEST(ParetoTest, FrontKeepsWhatNothingElseBeatsOrderedByCost) {
  const std::vector<ParetoPoint> points = {
      Point("slow", 0.963, 593, 50),            // the most accurate: on both fronts
      Point("fast", 0.960, 37.6, 5.5),          // cheapest: on both
      Point("wide", 0.955, 40, 4),              // beaten by "fast" on TFLOP, the fastest in minutes
      Point("worse", 0.950, 100, 10),           // beaten by "fast" on both
      Point("unknown", 0.94, std::nan(""), 3),  // no TFLOP: on the minutes front only
  };
  EXPECT_EQ(ParetoFront(points, &ParetoPoint::tflop), (std::vector<int>{1, 0}));
  EXPECT_EQ(ParetoFront(points, &ParetoPoint::minutes), (std::vector<int>{4, 2, 1, 0}));
  EXPECT_EQ(OnFront(points, &ParetoPoint::tflop),
            (std::vector<bool>{true, true, false, false, false}));
  // The same cost up to rounding: the more accurate point wins.
  EXPECT_EQ(ParetoFront({Point("csv", 0.960, 37.6, 5), Point("runs", 0.958, 37.55, 5)},
                        &ParetoPoint::tflop),
            (std::vector<int>{0}));
  // Equal points do not beat each other.
  EXPECT_EQ(ParetoFront({Point("a", 0.9, 1, 1), Point("b", 0.9, 1, 1)}, &ParetoPoint::tflop),
            (std::vector<int>{0, 1}));
}

TEST(ParetoTest, PointsFromKFoldSummaries) {
  KFoldSummary s;
  s.experiment = "nih50_speedrun_kfold";
  s.folds = 5;
  s.present = {0, 1};
  s.runs = {"/runs/a/1", "/runs/a/2"};
  s.metrics = {Folded("accuracy", {0.95, 0.97}), Folded("roc_auc", {0.99, 0.992}),
               Folded("train_minutes", {5, 6}), Folded("train_tflop", {37.6, std::nan("")})};
  const std::vector<ParetoPoint> points = PointsFromKFolds({s});
  ASSERT_EQ(points.size(), 1u);
  const ParetoPoint& p = points[0];
  EXPECT_EQ(p.name, "nih50_speedrun_kfold");
  EXPECT_EQ(p.folds, 2);
  EXPECT_NEAR(p.accuracy, 0.96, 1e-12);
  EXPECT_NEAR(p.accuracy_sd, std::sqrt(2) * 0.01, 1e-12);
  EXPECT_NEAR(p.roc_auc, 0.991, 1e-12);
  EXPECT_NEAR(p.minutes, 5.5, 1e-12);
  EXPECT_NEAR(p.tflop, 37.6, 1e-12);  // over the folds that recorded it
  EXPECT_EQ(p.source, "/runs/a/1");
  const base::TextTable table = ParetoTable(points);
  ASSERT_EQ(table.rows.size(), 1u);
  EXPECT_EQ(table.rows[0], (std::vector<std::string>{"nih50_speedrun_kfold", "2", "96.00 +- 1.41 %",
                                                     "0.9910", "37.6", "5.5", "yes", "yes"}));
}

TEST(ParetoTest, ParsesPointsAndNamesTheBadCell) {
  const std::string header = std::string(kPointsCsvHeader) + "\n";
  absl::StatusOr<std::vector<ParetoPoint>> points = ParsePointsCsv(
      header + "recipe,5,0.9628,0.0067,0.9923,593,,fold by fold, 2026-12-03 (a slow host)\n\n",
      "points.csv");
  ASSERT_TRUE(points.ok()) << points.status();
  ASSERT_EQ(points->size(), 1u);
  EXPECT_EQ((*points)[0].name, "recipe");
  EXPECT_EQ((*points)[0].folds, 5);
  EXPECT_DOUBLE_EQ((*points)[0].accuracy, 0.9628);
  EXPECT_DOUBLE_EQ((*points)[0].tflop, 593);
  EXPECT_TRUE(std::isnan((*points)[0].minutes));  // empty: unknown
  EXPECT_EQ((*points)[0].source, "fold by fold, 2026-12-03 (a slow host)");

  absl::Status bad = ParsePointsCsv("name,accuracy\n", "points.csv").status();
  EXPECT_NE(bad.message().find("points.csv: line 1 must be the header"), std::string::npos) << bad;
  bad = ParsePointsCsv(header + "a,5,96.3,,,1,2,x\n", "points.csv").status();
  EXPECT_NE(bad.message().find("points.csv: line 2, column accuracy: \"96.3\""), std::string::npos)
      << bad;
  bad = ParsePointsCsv(header + "a,5,0.9\n", "points.csv").status();
  EXPECT_NE(bad.message().find("points.csv: line 2: 3 columns, need 8"), std::string::npos) << bad;
}

}  // namespace
}  // namespace malaria::experiments
