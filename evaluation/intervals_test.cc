#include "evaluation/intervals.h"

#include <cmath>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace malaria::evaluation {
namespace {

// Adds `n` cells of `patient` with label `label` (1 positive) and positive-class probability `p`.
void AddCells(PredictionSet* set, const std::string& patient, int n, int label, float p) {
  set->num_classes = 2;
  for (int i = 0; i < n; ++i) {
    set->probabilities.push_back(1 - p);
    set->probabilities.push_back(p);
    set->labels.push_back(label);
    set->groups.push_back(patient);
    set->paths.push_back(patient + "/" + std::to_string(set->paths.size()));
  }
}

TEST(IntervalsTest, ClopperPearsonMatchesItsClosedFormsAndTables) {
  // k = 0 and k = n: (alpha/2)^(1/n) in closed form.
  const Interval none = ClopperPearson(0, 10);
  EXPECT_DOUBLE_EQ(none.estimate, 0);
  EXPECT_DOUBLE_EQ(none.low, 0);
  EXPECT_NEAR(none.high, 1 - std::pow(0.025, 0.1), 1e-9);
  const Interval all = ClopperPearson(10, 10);
  EXPECT_NEAR(all.low, std::pow(0.025, 0.1), 1e-9);
  EXPECT_DOUBLE_EQ(all.high, 1);
  // 7 of 14: the p with P(X >= 7 | n = 14, p) = 0.025 (summed by hand: 0.2303605), and 1 - it.
  const Interval half = ClopperPearson(7, 14);
  EXPECT_NEAR(half.low, 0.2303605, 1e-6);
  EXPECT_NEAR(half.high, 1 - half.low, 1e-9);
  EXPECT_FALSE(ClopperPearson(0, 0).known());
}

TEST(IntervalsTest, IncompleteBetaInClosedForm) {
  EXPECT_NEAR(RegularizedIncompleteBeta(1, 1, 0.3), 0.3, 1e-12);
  EXPECT_NEAR(RegularizedIncompleteBeta(3, 1, 0.7), std::pow(0.7, 3), 1e-12);
  EXPECT_NEAR(RegularizedIncompleteBeta(2, 2, 0.5), 0.5, 1e-12);
  EXPECT_NEAR(RegularizedIncompleteBeta(1, 4, 0.2), 1 - std::pow(0.8, 4), 1e-12);
}

// Patients alike in every way: every resample is the same set of cells, scaled; the interval has
// no width.
TEST(IntervalsTest, IdenticalPatientsGiveAZeroWidthInterval) {
  PredictionSet set;
  for (const char* patient : {"P1", "P2", "P3", "P4", "P5"}) {
    AddCells(&set, patient, 6, 1, 0.9f);  // right
    AddCells(&set, patient, 2, 1, 0.2f);  // wrong
    AddCells(&set, patient, 2, 0, 0.1f);  // right
  }
  const MetricIntervals ci = PatientBootstrap(set, 1).Intervals(BootstrapOptions());
  EXPECT_EQ(ci.units, 5);
  EXPECT_TRUE(ci.by_patient);
  EXPECT_DOUBLE_EQ(ci.accuracy.estimate, 0.8);
  EXPECT_DOUBLE_EQ(ci.accuracy.low, 0.8);
  EXPECT_DOUBLE_EQ(ci.accuracy.high, 0.8);
  EXPECT_DOUBLE_EQ(ci.sensitivity.low, 0.75);
  EXPECT_DOUBLE_EQ(ci.sensitivity.high, 0.75);
  EXPECT_DOUBLE_EQ(ci.specificity.high, 1.0);
  EXPECT_NEAR(ci.roc_auc.low, ci.roc_auc.high, 1e-12);
}

// Two patients, A (30 cells, all right) and B (10 cells, all wrong): a resample is {A, A} (accuracy
// 1), {B, B} (0), each with probability 1/4, or {A, B} (30/40 = 0.75) with probability 1/2.
TEST(IntervalsTest, TwoPatientsInClosedForm) {
  PredictionSet set;
  AddCells(&set, "A", 30, 1, 0.9f);
  AddCells(&set, "B", 10, 1, 0.1f);
  const PatientBootstrap boot(set, 1);
  int ones = 0, zeros = 0, mixed = 0;
  const int n = 4000;
  for (int r = 0; r < n; ++r) {
    const double a = boot.At(BootstrapWeights(2, 7, r)).accuracy;
    ones += a == 1.0;
    zeros += a == 0.0;
    mixed += a == 0.75;
  }
  EXPECT_EQ(ones + zeros + mixed, n);
  EXPECT_NEAR(ones / double(n), 0.25, 0.03);
  EXPECT_NEAR(zeros / double(n), 0.25, 0.03);
  EXPECT_NEAR(mixed / double(n), 0.5, 0.03);
  const MetricIntervals ci = boot.Intervals({n, 7, 0.95});
  EXPECT_DOUBLE_EQ(ci.accuracy.estimate, 0.75);
  EXPECT_DOUBLE_EQ(ci.accuracy.low, 0.0);
  EXPECT_DOUBLE_EQ(ci.accuracy.high, 1.0);
  EXPECT_FALSE(ci.specificity.known());  // no negative cells
}

// A new group of patients varies more than the estimate over all of them, and a small group more
// than a large one; identical patients leave no room at all.
TEST(IntervalsTest, NewGroupsAreWiderTheSmallerTheyAre) {
  PredictionSet set;
  for (int p = 0; p < 40; ++p) {
    AddCells(&set, "P" + std::to_string(p), 20, 1, 0.9f);
    AddCells(&set, "P" + std::to_string(p), p % 5, 1, 0.1f);  // 0 to 4 wrong cells
  }
  const PatientBootstrap boot(set, 1);
  const BootstrapOptions o{1000, 5, 0.95};
  const MetricIntervals all = boot.Intervals(o);
  const MetricIntervals large = boot.NewGroupIntervals(40, o), small = boot.NewGroupIntervals(5, o);
  auto width = [](const Interval& i) { return i.high - i.low; };
  EXPECT_GT(width(large.accuracy), width(all.accuracy));
  EXPECT_GT(width(small.accuracy), width(large.accuracy));
  EXPECT_DOUBLE_EQ(large.accuracy.estimate, all.accuracy.estimate);
  EXPECT_LE(small.accuracy.low, all.accuracy.low);

  PredictionSet same;
  for (int p = 0; p < 6; ++p) AddCells(&same, "P" + std::to_string(p), 10, 1, 0.9f);
  const MetricIntervals none = PatientBootstrap(same, 1).NewGroupIntervals(3, o);
  EXPECT_DOUBLE_EQ(none.accuracy.low, none.accuracy.high);
}

TEST(IntervalsTest, WeightedRocAucCountsTiesHalf) {
  PredictionSet set;
  AddCells(&set, "A", 1, 0, 0.1f);
  AddCells(&set, "A", 1, 1, 0.4f);
  AddCells(&set, "B", 1, 0, 0.4f);
  AddCells(&set, "B", 1, 1, 0.8f);
  const PatientBootstrap boot(set, 1);
  // Pairs (positive, negative): (0.4, 0.1) 1, (0.4, 0.4) 1/2, (0.8, both) 2: 3.5 of 4.
  EXPECT_DOUBLE_EQ(boot.At({1, 1}).roc_auc, 0.875);
  // Patient A twice: positives 0.4 x2, 0.8; negatives 0.1 x2, 0.4: 2 x (2 + 1/2) + 3 = 8 of 9.
  EXPECT_DOUBLE_EQ(boot.At({2, 1}).roc_auc, 8.0 / 9);
}

TEST(IntervalsTest, SeededAndReproducible) {
  PredictionSet set;
  for (int p = 0; p < 12; ++p) {
    AddCells(&set, "P" + std::to_string(p), 10 + p, p % 2, 0.3f + 0.05f * p);
  }
  const PatientBootstrap boot(set, 1);
  const MetricIntervals a = boot.Intervals({500, 3, 0.95}), b = boot.Intervals({500, 3, 0.95});
  EXPECT_EQ(a.accuracy.low, b.accuracy.low);
  EXPECT_EQ(a.roc_auc.high, b.roc_auc.high);
  const MetricIntervals c = boot.Intervals({500, 4, 0.95});
  EXPECT_NE(a.accuracy.low + a.accuracy.high, c.accuracy.low + c.accuracy.high);
  EXPECT_LE(a.accuracy.low, a.accuracy.estimate);
  EXPECT_GE(a.accuracy.high, a.accuracy.estimate);
}

// The paired difference of a model and itself is zero in every resample; of a model and one that
// is wrong on one patient's cells, the first is ahead in every resample that draws that patient.
TEST(IntervalsTest, PairedDifferencesOnTheSameCells) {
  PredictionSet a;
  for (int p = 0; p < 8; ++p) AddCells(&a, "P" + std::to_string(p), 10, p % 2, p % 2 ? 0.8f : 0.2f);
  const absl::StatusOr<MetricIntervals> same = PairedDifference(a, a, 1, BootstrapOptions());
  ASSERT_TRUE(same.ok());
  EXPECT_DOUBLE_EQ(same->accuracy.low, 0);
  EXPECT_DOUBLE_EQ(same->accuracy.high, 0);

  PredictionSet b = a;
  for (int i = 0; i < 10; ++i) {  // patient P1's cells (positive) now called negative
    b.probabilities[2 * (10 + i)] = 0.9f;
    b.probabilities[2 * (10 + i) + 1] = 0.1f;
  }
  const absl::StatusOr<MetricIntervals> d = PairedDifference(a, b, 1, BootstrapOptions());
  ASSERT_TRUE(d.ok());
  EXPECT_DOUBLE_EQ(d->accuracy.estimate, 10.0 / 80);
  EXPECT_GE(d->accuracy.low, 0);  // never behind
  EXPECT_GT(d->accuracy.high, d->accuracy.estimate);

  PredictionSet other = a;
  other.paths[0] = "elsewhere.png";
  EXPECT_EQ(PairedDifference(a, other, 1, BootstrapOptions()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(IntervalsTest, DiagnosisCountsGetExactIntervals) {
  PredictionSet set;
  AddCells(&set, "A", 10, 1, 0.9f);
  AddCells(&set, "B", 10, 0, 0.1f);
  ClassificationReport report;
  PatientSummary* s = report.mutable_patients();
  s->set_patients(68);
  s->set_infected_patients(54);
  s->set_missed_patients(0);
  s->set_false_alarm_patients(7);
  const PatientIntervals p = PatientIntervalsOf(set, 1, report, BootstrapOptions());
  EXPECT_EQ(p.units(), 2);
  EXPECT_DOUBLE_EQ(p.diagnosis_accuracy().estimate(), 61.0 / 68);
  EXPECT_DOUBLE_EQ(p.diagnosis_sensitivity().high(), 1.0);
  EXPECT_DOUBLE_EQ(p.diagnosis_specificity().estimate(), 0.5);
  EXPECT_NEAR(p.diagnosis_specificity().low(), 0.2303605, 1e-6);
  EXPECT_EQ(IntervalText(ClopperPearson(7, 14)), "50.0 % (95 % CI 23.0-77.0)");
  const std::string text = PatientIntervalsText(p);
  EXPECT_NE(text.find("95 % intervals over 2 patients (bootstrap, 2000 resamples): accuracy "
                      "100.0 % (100.0-100.0), ROC AUC 1.000 (1.000-1.000)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("patient diagnosis (exact binomial): accuracy 89.7 % ("), std::string::npos)
      << text;
}

}  // namespace
}  // namespace malaria::evaluation
