#include "evaluation/metrics.h"

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

}  // namespace
}  // namespace malaria::evaluation
