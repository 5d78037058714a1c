#include "evaluation/metrics.h"

#include "evaluation/patient_counts.h"
#include "gtest/gtest.h"

namespace malaria::evaluation {
namespace {

// The study's ResNet-34 confusion matrix: 2764 parasitized with 101 missed, 2747 uninfected with
// 81 false alarms. Probabilities are built to give exactly those predictions.
TEST(MetricsTest, StudyConfusionMatrixGivesItsRates) {
  std::vector<float> probs;
  std::vector<int64_t> labels;
  auto add = [&](int label, int predicted, int count) {
    for (int i = 0; i < count; ++i) {
      probs.push_back(predicted == 0 ? 0.9f : 0.1f);
      probs.push_back(predicted == 0 ? 0.1f : 0.9f);
      labels.push_back(label);
    }
  };
  add(0, 0, 2764 - 101);
  add(0, 1, 101);
  add(1, 1, 2747 - 81);
  add(1, 0, 81);
  const ClassificationReport r = Evaluate(probs, labels, {"Parasitized", "Uninfected"}, 0, 0.1);
  EXPECT_EQ(r.examples(), 5511);
  EXPECT_EQ(r.true_positives(), 2663);
  EXPECT_EQ(r.false_negatives(), 101);
  EXPECT_EQ(r.false_positives(), 81);
  EXPECT_EQ(r.true_negatives(), 2666);
  EXPECT_NEAR(r.accuracy(), (2663.0 + 2666) / 5511, 1e-12);  // 96.70 %
  EXPECT_NEAR(r.error_rate(), 182.0 / 5511, 1e-12);
  EXPECT_NEAR(r.sensitivity(), 2663.0 / 2764, 1e-12);
  EXPECT_NEAR(r.specificity(), 2666.0 / 2747, 1e-12);
  EXPECT_NEAR(r.precision(), 2663.0 / (2663 + 81), 1e-12);
  EXPECT_NEAR(r.f1(), 2.0 * 2663 / (2 * 2663 + 81 + 101), 1e-12);
  EXPECT_NEAR(r.false_negative_rate(), 101.0 / 2764, 1e-12);
  EXPECT_NEAR(r.false_positive_rate(), 81.0 / 2747, 1e-12);
  EXPECT_EQ(ConfusionMatrixCsv(r),
            "actual\\predicted,Parasitized,Uninfected\nParasitized,2663,101\nUninfected,81,2666\n");
}

TEST(MetricsTest, RocAucOfKnownRankings) {
  EXPECT_DOUBLE_EQ(RocAuc({0.9, 0.8, 0.2, 0.1}, {true, true, false, false}), 1.0);
  EXPECT_DOUBLE_EQ(RocAuc({0.1, 0.2, 0.8, 0.9}, {true, true, false, false}), 0.0);
  // One inversion out of four pairs.
  EXPECT_DOUBLE_EQ(RocAuc({0.9, 0.3, 0.5, 0.1}, {true, true, false, false}), 0.75);
  // Ties count half.
  EXPECT_DOUBLE_EQ(RocAuc({0.5, 0.5}, {true, false}), 0.5);
  EXPECT_DOUBLE_EQ(RocAuc({0.5, 0.7}, {true, true}), 0.5);
}

TEST(MetricsTest, EmptyAndDegenerateInputsGiveZeroRates) {
  const ClassificationReport r = Evaluate({}, {}, {"A", "B"}, 0, 0);
  EXPECT_EQ(r.examples(), 0);
  EXPECT_EQ(r.accuracy(), 0);
  EXPECT_EQ(r.sensitivity(), 0);
  EXPECT_EQ(r.confusion_size(), 4);
}

TEST(MetricsTest, PositiveClassCanBeTheSecond) {
  // Labels: 0 = Uninfected, 1 = Parasitized (positive). One parasitized cell is missed.
  const ClassificationReport r = Evaluate({0.2f, 0.8f, 0.7f, 0.3f, 0.9f, 0.1f}, {1, 1, 0},
                                          {"Uninfected", "Parasitized"}, 1, 0);
  EXPECT_EQ(r.true_positives(), 1);
  EXPECT_EQ(r.false_negatives(), 1);
  EXPECT_EQ(r.true_negatives(), 1);
  EXPECT_EQ(r.positive_class(), "Parasitized");
  // Positive-class scores 0.8 and 0.3 for the positives, 0.1 for the negative: ranked perfectly.
  EXPECT_DOUBLE_EQ(r.roc_auc(), 1.0);
}

// Four cells of two patients: P1 infected (two parasitized cells, one missed), P2 healthy.
PredictionSet FourCells() {
  PredictionSet p;
  p.num_classes = 2;
  p.probabilities = {0.9f, 0.1f,   // P1, parasitized, right (confidence 0.9)
                     0.3f, 0.7f,   // P1, parasitized, missed (0.7)
                     0.2f, 0.8f,   // P2, uninfected, right (0.8)
                     0.6f, 0.4f};  // P2, uninfected, false alarm (0.6)
  p.labels = {0, 0, 1, 1};
  p.losses = {0.1f, 1.2f, 0.2f, 0.9f};
  p.paths = {"a.png", "b.png", "c.png", "d.png"};
  p.groups = {"P1", "P1", "P2", "P2"};
  return p;
}

TEST(MetricsTest, ExpectedCalibrationErrorOfKnownBins) {
  // 10 bins: [0.6,0.7): conf 0.6, wrong; [0.7,0.8): 0.7, wrong; [0.8,0.9): 0.8 right;
  // [0.9,1]: 0.9 right. ECE = (0.6 + 0.7 + 0.2 + 0.1) / 4 = 0.4.
  EXPECT_NEAR(ExpectedCalibrationError(FourCells(), 10), 0.4, 1e-6);
  // One bin: |accuracy 0.5 - mean confidence 0.75| = 0.25.
  EXPECT_NEAR(ExpectedCalibrationError(FourCells(), 1), 0.25, 1e-6);
}

// The counts the per-patient metrics and the parasitemia estimates share: by patient, sorted, a
// cell without a patient left out, the decision's calls counted (a threshold moves them).
TEST(MetricsTest, CountByPatientCountsEachPatientsCells) {
  PredictionSet p = FourCells();
  p.probabilities.insert(p.probabilities.end(), {0.95f, 0.05f});
  p.labels.push_back(0);
  p.groups.push_back("");  // no patient
  p.groups[0] = "P3";
  std::vector<PatientCounts> c = CountByPatient(p, 0);
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[0].patient, "P1");
  EXPECT_EQ(c[0].cells, 1);
  EXPECT_EQ(c[0].labelled_positive, 1);
  EXPECT_EQ(c[0].predicted_positive, 0);
  EXPECT_EQ(c[0].correct, 0);
  EXPECT_EQ(c[1].patient, "P2");
  EXPECT_EQ(c[1].cells, 2);
  EXPECT_EQ(c[1].labelled_positive, 0);
  EXPECT_EQ(c[1].predicted_positive, 1);  // the false alarm
  EXPECT_EQ(c[1].correct, 1);
  EXPECT_EQ(c[2].patient, "P3");
  EXPECT_EQ(c[2].correct, 1);
  // Positive at P >= 0.25: cell b (0.3) is now called positive too.
  p.decision_positive = 0;
  p.decision_threshold = 0.25;
  c = CountByPatient(p, 0);
  EXPECT_EQ(c[0].predicted_positive, 1);
  EXPECT_EQ(c[0].correct, 1);
}

TEST(MetricsTest, PerPatientResultsAndDiagnosis) {
  const std::vector<PatientResult> patients = PerPatient(FourCells(), 0, 0.25);
  ASSERT_EQ(patients.size(), 2u);
  EXPECT_EQ(patients[0].patient, "P1");
  EXPECT_EQ(patients[0].cells, 2);
  EXPECT_EQ(patients[0].labelled_positive, 2);
  EXPECT_EQ(patients[0].predicted_positive, 1);
  EXPECT_DOUBLE_EQ(patients[0].accuracy, 0.5);
  EXPECT_TRUE(patients[0].infected);
  EXPECT_TRUE(patients[0].diagnosed);  // 1 of 2 cells >= 0.25
  EXPECT_FALSE(patients[1].infected);
  EXPECT_TRUE(patients[1].diagnosed);  // the false alarm: 1 of 2 cells
  EXPECT_FALSE(PerPatient(FourCells(), 0, 0.75)[0].diagnosed);

  EvaluationConfig config;
  const ClassificationReport r = Evaluate(FourCells(), {"Parasitized", "Uninfected"}, 0, config);
  EXPECT_EQ(r.patients().patients(), 2);
  EXPECT_DOUBLE_EQ(r.patients().diagnosis_accuracy(), 0.5);
  EXPECT_EQ(r.patients().false_alarm_patients(), 1);
  EXPECT_EQ(r.patients().missed_patients(), 0);
  EXPECT_DOUBLE_EQ(r.patients().mean_cell_accuracy(), 0.5);
  EXPECT_GT(r.expected_calibration_error(), 0);
  EXPECT_EQ(PatientCsv(PerPatient(FourCells(), 0, 0.25)),
            "patient,cells,positive_cells,predicted_positive_cells,accuracy,infected,diagnosed\n"
            "P1,2,2,1,0.500000,1,1\nP2,2,0,1,0.500000,0,1\n");
}

TEST(MetricsTest, MostConfusedTopLossesAndRocCurve) {
  const PredictionSet p = FourCells();
  const ClassificationReport r = Evaluate(p, {"Parasitized", "Uninfected"}, 0, EvaluationConfig());
  EXPECT_EQ(MostConfused(r), "Parasitized -> Uninfected: 1\nUninfected -> Parasitized: 1\n");
  EXPECT_EQ(TopLosses(p, 2), (std::vector<int>{1, 3}));
  EXPECT_EQ(TopLosses(p, 10).size(), 4u);
  std::vector<double> fpr, tpr;
  RocCurve(p, 0, &fpr, &tpr);
  // Scores for Parasitized: 0.9 (pos), 0.6 (neg), 0.3 (pos), 0.2 (neg).
  EXPECT_EQ(fpr, (std::vector<double>{0, 0, 0.5, 0.5, 1}));
  EXPECT_EQ(tpr, (std::vector<double>{0, 0.5, 0.5, 1, 1}));
  EXPECT_DOUBLE_EQ(r.roc_auc(), 0.75);
  const std::string csv = PredictionsCsv(p, {"Parasitized", "Uninfected"});
  EXPECT_EQ(csv.substr(0, csv.find('\n')), "path,label,predicted,p_Parasitized,p_Uninfected,loss");
  EXPECT_NE(csv.find("b.png,Parasitized,Uninfected,0.300000,0.700000,1.200000"), std::string::npos);
}

}  // namespace
}  // namespace malaria::evaluation

namespace malaria::evaluation {
namespace {

// What PredictionsCsv writes reads back: probabilities, labels, losses, paths (commas in them
// too), and each path's patient; a wrong header or label is named with its line.
TEST(MetricsTest, PredictionsCsvReadsBack) {
  PredictionSet p;
  p.num_classes = 2;
  p.probabilities = {0.9f, 0.1f, 0.25f, 0.75f};
  p.labels = {0, 1};
  p.losses = {0.105f, 0.2877f};
  p.paths = {"Parasitized/C1P7_a.png", "Uninfected/C2_b,c.png"};
  const std::vector<std::string> classes = {"Parasitized", "Uninfected"};
  auto group = [](const std::string& path) { return path.substr(path.find('/') + 1, 2); };
  absl::StatusOr<PredictionSet> read =
      ReadPredictionsCsv(PredictionsCsv(p, classes), "p.csv", classes, group);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->paths, p.paths);
  EXPECT_EQ(read->labels, p.labels);
  EXPECT_EQ(read->probabilities, p.probabilities);
  EXPECT_EQ(read->groups, (std::vector<std::string>{"C1", "C2"}));
  EXPECT_NEAR(read->mean_loss, (0.105 + 0.2877) / 2, 1e-6);
  EXPECT_EQ(ReadPredictionsCsv("path,label\n", "p.csv", classes, group).status().code(),
            absl::StatusCode::kInvalidArgument);
  const absl::Status wrong =
      ReadPredictionsCsv(PredictionsCsv(p, classes), "p.csv", {"Parasitized", "Healthy"}, group)
          .status();
  EXPECT_NE(wrong.message().find("p.csv:1: the header is not"), std::string::npos) << wrong;
}

}  // namespace
}  // namespace malaria::evaluation
