#include "evaluation/calibration.h"

#include <cmath>
#include <string>

#include "evaluation/metrics.h"
#include "gtest/gtest.h"

namespace malaria::evaluation {
namespace {

double Sigmoid(double z) { return 1 / (1 + std::exp(-z)); }

// A set whose true positive rate at logit z is sigmoid(z), reported overconfident as
// sigmoid(2 z): temperature 2 undoes it.
PredictionSet Overconfident() {
  PredictionSet p;
  p.num_classes = 2;
  for (int step = -20; step <= 20; ++step) {
    const double z = step * 0.2;
    const int positives = static_cast<int>(std::lround(1000 * Sigmoid(z)));
    const float reported = static_cast<float>(Sigmoid(2 * z));
    for (int i = 0; i < 1000; ++i) {
      p.probabilities.push_back(reported);  // class 0 is the positive class
      p.probabilities.push_back(1 - reported);
      p.labels.push_back(i < positives ? 0 : 1);
      p.losses.push_back(0);
    }
  }
  return p;
}

TEST(CalibrationTest, TemperatureScalingUndoesOverconfidence) {
  const PredictionSet p = Overconfident();
  const double t = FitTemperature(p);
  EXPECT_NEAR(t, 2.0, 0.02);
  const PredictionSet calibrated = WithTemperature(p, t);
  EXPECT_LT(NegativeLogLikelihood(calibrated), NegativeLogLikelihood(p));
  EXPECT_LT(ExpectedCalibrationError(calibrated, 15), ExpectedCalibrationError(p, 15) / 4);
  // softmax(log p / T) for two classes is sigmoid(logit / T).
  EXPECT_NEAR(calibrated.Row(0)[0], Sigmoid(2 * -4.0 / t), 1e-5);
  EXPECT_NEAR(calibrated.losses[0], -std::log(calibrated.Row(0)[0]), 1e-5);  // label 0 (positive)
}

TEST(CalibrationTest, TheThresholdMaximisesAccuracyAndPrefersTheMiddle) {
  PredictionSet p;
  p.num_classes = 2;
  // P(positive = class 0) and the labels: positives at 0.9, 0.8, 0.4; negatives at 0.3, 0.2, 0.1.
  for (auto [score, label] : std::vector<std::pair<float, int>>{
           {0.9f, 0}, {0.8f, 0}, {0.4f, 0}, {0.3f, 1}, {0.2f, 1}, {0.1f, 1}}) {
    p.probabilities.push_back(score);
    p.probabilities.push_back(1 - score);
    p.labels.push_back(label);
  }
  EXPECT_NEAR(FitThreshold(p, 0), 0.35, 1e-6);  // all six right between 0.3 and 0.4
  p.decision_positive = 0;
  p.decision_threshold = 0.35;
  EXPECT_EQ(p.Predicted(2), 0);  // the arg-max would have said class 1
  const ClassificationReport r = Evaluate(p.probabilities, p.labels, {"P", "U"}, 0, 0, 0.35);
  EXPECT_DOUBLE_EQ(r.accuracy(), 1.0);
}

// Rogan-Gladen on a hand-made patient: 20 of 100 cells called positive by a model of sensitivity
// 0.9 and specificity 0.95: (0.2 + 0.95 - 1) / (0.9 + 0.95 - 1) = 0.17647; the Wilson interval of
// 20/100 is [0.1334, 0.2888] before the same correction.
TEST(CalibrationTest, ParasitemiaIsCorrectedForTheModelsErrorsWithAnInterval) {
  PredictionSet p;
  p.num_classes = 2;
  for (int i = 0; i < 100; ++i) {
    const bool called = i < 20, labelled = i < 15;
    p.probabilities.push_back(called ? 0.9f : 0.1f);
    p.probabilities.push_back(called ? 0.1f : 0.9f);
    p.labels.push_back(labelled ? 0 : 1);
    p.groups.push_back("P7");
  }
  for (int i = 0; i < 50; ++i) {  // a healthy donor, one false alarm
    p.probabilities.push_back(i == 0 ? 0.9f : 0.1f);
    p.probabilities.push_back(i == 0 ? 0.1f : 0.9f);
    p.labels.push_back(1);
    p.groups.push_back("C3");
  }
  const std::vector<ParasitemiaEstimate> e = EstimateParasitemia(p, 0, 0.9, 0.95, 0.05);
  ASSERT_EQ(e.size(), 2u);
  const ParasitemiaEstimate& infected = e[1];
  EXPECT_EQ(infected.patient, "P7");
  EXPECT_DOUBLE_EQ(infected.labelled, 0.15);
  EXPECT_NEAR(infected.estimate, 0.15 / 0.85, 1e-9);
  EXPECT_NEAR(infected.low, (0.13344 - 0.05) / 0.85, 2e-4);
  EXPECT_NEAR(infected.high, (0.28876 - 0.05) / 0.85, 2e-4);
  EXPECT_TRUE(infected.infected && infected.diagnosed);
  const ParasitemiaEstimate& healthy = e[0];
  EXPECT_EQ(healthy.estimate, 0.0);  // 1/50 = 0.02 < 1 - specificity: clamped at 0
  EXPECT_FALSE(healthy.infected || healthy.diagnosed);
  const ParasitemiaSummary s = SummarizeParasitemia(e, 0.05);
  EXPECT_NEAR(s.mean_absolute_error(), (std::abs(0.15 / 0.85 - 0.15) + 0) / 2, 1e-9);
  EXPECT_DOUBLE_EQ(s.diagnosis_accuracy(), 1.0);
  EXPECT_DOUBLE_EQ(s.interval_coverage(), 1.0);
}

// What classify prints for a patient's folder: the same hand-made patient (20 of 100 cells called,
// sensitivity 0.9, specificity 0.95: 17.6 %, interval 9.8-28.1 %), diagnosed by the rule's 5 % and
// 4 cells; with a floor of 30 cells not; without a calibration, the fraction as called.
TEST(CalibrationTest, ScreeningTextSaysTheEstimateAndTheDiagnosisByTheRule) {
  PredictionSet p;
  p.num_classes = 2;
  for (int i = 0; i < 100; ++i) {
    p.probabilities.push_back(i < 20 ? 0.9f : 0.1f);
    p.probabilities.push_back(i < 20 ? 0.1f : 0.9f);
    p.labels.push_back(1);  // unknown: classify's placeholder
    p.groups.push_back("patient_7/");
  }
  Calibration rule;
  rule.set_sensitivity(0.9);
  rule.set_specificity(0.95);
  rule.set_patient_threshold(0.05);
  rule.set_patient_min_cells(4);
  const ParasitemiaEstimate e = EstimateParasitemia(p, 0, 0.9, 0.95, 0.05, 4)[0];
  EXPECT_EQ(ScreeningText(e, "Parasitized", &rule),
            "100 cells, 20 called Parasitized; estimated parasitemia 17.6 % (95 % CI 9.8-28.1 %, "
            "corrected for the model's sensitivity 0.900 and specificity 0.950); diagnosis: "
            "INFECTED (rule: estimate >= 5.00 % and >= 4 cells called Parasitized)");
  rule.set_patient_min_cells(30);
  const ParasitemiaEstimate floor = EstimateParasitemia(p, 0, 0.9, 0.95, 0.05, 30)[0];
  EXPECT_NE(ScreeningText(floor, "Parasitized", &rule).find("diagnosis: not infected"),
            std::string::npos);
  const ParasitemiaEstimate called = EstimateParasitemia(p, 0, 1, 1)[0];
  EXPECT_EQ(ScreeningText(called, "Parasitized", nullptr),
            "100 cells, 20 called Parasitized (20.0 %, 95 % CI 13.3-28.9 %); no diagnosis: the "
            "model has no calibration (--calibration=false, or none was fitted)");
}

TEST(CalibrationTest, ThePatientThresholdSeparatesInfectedFromHealthy) {
  std::vector<ParasitemiaEstimate> patients;
  for (auto [estimate, infected] : std::vector<std::pair<double, bool>>{
           {0.0, false}, {0.01, false}, {0.03, false}, {0.05, true}, {0.2, true}, {0.04, true}}) {
    ParasitemiaEstimate e;
    e.estimate = estimate;
    e.infected = infected;
    patients.push_back(e);
  }
  // Every patient is right between 0.03 and 0.04 only: the midpoint.
  EXPECT_NEAR(FitPatientThreshold(patients), 0.035, 1e-12);
  const ParasitemiaSummary s = SummarizeParasitemia(patients, 0.035);
  EXPECT_DOUBLE_EQ(s.diagnosis_accuracy(), 1.0);
  // At a fixed 25 % of cells (the old rule), every infected patient here is missed.
  const ParasitemiaSummary fixed = SummarizeParasitemia(patients, 0.25);
  EXPECT_NEAR(fixed.diagnosis_sensitivity(), 0.0, 1e-12);
  EXPECT_DOUBLE_EQ(fixed.diagnosis_specificity(), 1.0);

  // Without uninfected patients there is no specificity (not 0), and RateText says why.
  std::vector<ParasitemiaEstimate> infected_only(patients.begin() + 3, patients.end());
  const ParasitemiaSummary only = SummarizeParasitemia(infected_only, 0.035);
  EXPECT_TRUE(only.has_diagnosis_sensitivity());
  EXPECT_FALSE(only.has_diagnosis_specificity());
  EXPECT_EQ(RateText(only.has_diagnosis_specificity(), only.diagnosis_specificity(), 3,
                     "no uninfected patients"),
            "- (no uninfected patients)");
  EXPECT_EQ(RateText(true, 2.0 / 3, 3, "unused"), "0.667");
}

// `patients` patients of 20 cells each, half infected: an infected patient's 10 parasitized cells
// score `positive_score` (its 10 others 0.05), a healthy patient's 20 cells 0.05, but for
// `healthy_hits` cells of 0.9 in the first healthy patients.
PredictionSet Patients(int patients, float positive_score, int healthy_hits = 0) {
  PredictionSet p;
  p.num_classes = 2;
  auto cell = [&](const std::string& patient, int label, float score) {
    p.probabilities.push_back(score);
    p.probabilities.push_back(1 - score);
    p.labels.push_back(label);
    p.losses.push_back(0);
    p.paths.push_back(patient + "_" + std::to_string(p.paths.size()));
    p.groups.push_back(patient);
  };
  for (int k = 0; k < patients; ++k) {
    const std::string name = (k % 2 == 0 ? "P" : "C") + std::to_string(k);
    for (int i = 0; i < 20; ++i) {
      if (k % 2 == 0) {
        cell(name, i < 10 ? 0 : 1, i < 10 ? positive_score : 0.05f);
      } else {
        cell(name, 1, i < 2 && k / 2 < healthy_hits ? 0.9f : 0.05f);
      }
    }
  }
  return p;
}

// On the few patients of one run's validation set no threshold and no diagnosis rule are fitted:
// 0.5 and the fixed rule stay, and the notes say why.
TEST(CalibrationTest, FewPatientsFitOnlyTheTemperature) {
  const Calibration c = Calibrate(Patients(16, 0.4f), {"Parasitized", "Uninfected"}, 0);
  EXPECT_EQ(c.fitted_patients(), 16);
  EXPECT_DOUBLE_EQ(c.threshold(), 0.5);
  EXPECT_FALSE(c.threshold_fitted());
  EXPECT_NE(c.threshold_note().find("0.5 kept: fitted on 16 patients, fewer than the 50"),
            std::string::npos)
      << c.threshold_note();
  EXPECT_FALSE(c.patient_rule_fitted());
  EXPECT_DOUBLE_EQ(c.patient_threshold(), 0.25);
  EXPECT_EQ(c.patient_min_cells(), 0);
}

// On enough patients a threshold that is right where 0.5 is wrong (every parasitized cell at 0.4)
// replaces 0.5; one that is better on a single cell does not.
TEST(CalibrationTest, AThresholdReplacesHalfOnlyBeyondItsNoise) {
  const Calibration clear = Calibrate(Patients(60, 0.4f), {"Parasitized", "Uninfected"}, 0);
  EXPECT_EQ(clear.fitted_patients(), 60);
  EXPECT_TRUE(clear.threshold_fitted()) << clear.threshold_note();
  EXPECT_LT(clear.threshold(), 0.5);
  EXPECT_DOUBLE_EQ(clear.accuracy_after(), 1.0);

  PredictionSet marginal = Patients(60, 0.9f);
  marginal.probabilities[0] = 0.45f;  // one parasitized cell just under 0.5
  marginal.probabilities[1] = 0.55f;
  const Calibration kept = Calibrate(marginal, {"Parasitized", "Uninfected"}, 0);
  EXPECT_FALSE(kept.threshold_fitted());
  EXPECT_DOUBLE_EQ(kept.threshold(), 0.5);
  EXPECT_NE(kept.threshold_note().find("within its resampling noise"), std::string::npos)
      << kept.threshold_note();
}

// Healthy patients with two cells called positive, infected ones with ten: every floor from 0 to 10
// separates them (with the fraction), and the rule takes the middle one, 5, the widest margin.
TEST(CalibrationTest, TheDiagnosisRuleHasACellFloor) {
  const Calibration c = Calibrate(Patients(60, 0.9f, 30), {"Parasitized", "Uninfected"}, 0);
  EXPECT_TRUE(c.patient_rule_fitted()) << c.patient_rule_note();
  EXPECT_EQ(c.patient_min_cells(), 5) << c.patient_rule_note();
  std::vector<ParasitemiaEstimate> e =
      EstimateParasitemia(ApplyCalibration(Patients(60, 0.9f, 30), c, 0), 0, c.sensitivity(),
                          c.specificity(), c.patient_threshold(), c.patient_min_cells());
  int right = 0;
  for (const ParasitemiaEstimate& p : e) right += p.diagnosed == p.infected;
  EXPECT_EQ(right, 60);
}

TEST(CalibrationTest, CalibrateRecordsEverythingItFitted) {
  PredictionSet p = Overconfident();
  for (int i = 0; i < p.size(); ++i) p.groups.push_back(i % 2 == 0 ? "P1" : "C2");
  const Calibration c = Calibrate(p, {"Parasitized", "Uninfected"}, 0);
  EXPECT_EQ(c.positive_class(), "Parasitized");
  EXPECT_NEAR(c.temperature(), 2.0, 0.02);
  EXPECT_LT(c.nll_after(), c.nll_before());
  EXPECT_LT(c.ece_after(), c.ece_before());
  EXPECT_GE(c.accuracy_after(), c.accuracy_before());
  EXPECT_GT(c.sensitivity(), 0.5);
  EXPECT_GT(c.specificity(), 0.5);
  EXPECT_TRUE(c.has_patient_threshold());
  const PredictionSet applied = ApplyCalibration(p, c, 0);
  EXPECT_EQ(applied.decision_positive, 0);
  EXPECT_DOUBLE_EQ(applied.decision_threshold, c.threshold());
}

TEST(CalibrationTest, AnEnsembleAveragesItsMembersProbabilities) {
  PredictionSet a, b;
  for (PredictionSet* p : {&a, &b}) {
    p->num_classes = 2;
    p->labels = {0, 1};
    p->paths = {"x.png", "y.png"};
    p->losses = {0, 0};
  }
  a.probabilities = {0.9f, 0.1f, 0.6f, 0.4f};
  b.probabilities = {0.5f, 0.5f, 0.2f, 0.8f};
  absl::StatusOr<PredictionSet> e = AveragePredictions({a, b});
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_NEAR(e->Row(0)[0], 0.7, 1e-6);
  EXPECT_NEAR(e->Row(1)[1], 0.6, 1e-6);
  EXPECT_EQ(e->Predicted(1), 1);  // a alone said 0
  EXPECT_NEAR(e->losses[0], -std::log(0.7), 1e-6);
  EXPECT_NEAR(e->mean_loss, (-std::log(0.7) - std::log(0.6)) / 2, 1e-6);
  b.paths = {"x.png", "z.png"};
  EXPECT_EQ(AveragePredictions({a, b}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(AveragePredictions({}).ok());

  Calibration c1, c2;
  c1.set_threshold(0.4);
  c2.set_threshold(0.6);
  c1.set_sensitivity(0.9);
  c2.set_sensitivity(0.8);
  c1.set_patient_threshold(0.02);
  c2.set_patient_threshold(0.04);
  const Calibration both = CombineCalibrations({c1, c2});
  EXPECT_DOUBLE_EQ(both.temperature(), 1);
  EXPECT_DOUBLE_EQ(both.threshold(), 0.5);
  EXPECT_DOUBLE_EQ(both.sensitivity(), 0.85);
  EXPECT_DOUBLE_EQ(both.patient_threshold(), 0.03);
}

}  // namespace
}  // namespace malaria::evaluation
