#include "tools/suspects.h"

#include "gtest/gtest.h"

namespace malaria::tools {
namespace {

TEST(SuspectsTest, ConfidentLearningThresholdsAndSuspects) {
  // Class 0 self-confidence: (0.9 + 0.8 + 0.1) / 3 = 0.6; class 1: (0.9 + 0.7 + 0.2) / 3 = 0.6.
  const std::vector<OofPrediction> p = {
      {"a.png", 0, {0.9, 0.1}}, {"b.png", 0, {0.8, 0.2}}, {"c.png", 0, {0.1, 0.9}},  // c: suspect
      {"d.png", 1, {0.1, 0.9}}, {"e.png", 1, {0.3, 0.7}}, {"f.png", 1, {0.8, 0.2}},  // f: suspect
  };
  std::vector<double> thresholds;
  const std::vector<Suspect> s = FindSuspects(p, 2, &thresholds);
  ASSERT_EQ(thresholds.size(), 2u);
  EXPECT_NEAR(thresholds[0], 0.6, 1e-12);
  EXPECT_NEAR(thresholds[1], 0.6, 1e-12);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].prediction.path, "c.png");  // 0.9 before 0.8
  EXPECT_EQ(s[0].suggested, 1);
  EXPECT_EQ(s[1].prediction.path, "f.png");
  EXPECT_EQ(s[1].suggested, 0);
  EXPECT_DOUBLE_EQ(s[1].confidence, 0.8);
}

TEST(SuspectsTest, ParsesPredictionsCsv) {
  const std::string csv =
      "path,label,predicted,p_Parasitized,p_Uninfected,loss\n"
      "Parasitized/a.png,Parasitized,Parasitized,0.900000,0.100000,0.105361\n"
      "Uninfected/b.png,Uninfected,Parasitized,0.700000,0.300000,1.203973\n";
  const absl::StatusOr<std::vector<OofPrediction>> p =
      ParsePredictionsCsv(csv, {"Parasitized", "Uninfected"});
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->size(), 2u);
  EXPECT_EQ((*p)[1].label, 1);
  EXPECT_DOUBLE_EQ((*p)[1].probabilities[0], 0.7);
  EXPECT_FALSE(ParsePredictionsCsv("h\nx,Other,y,0.1,0.9,1\n", {"Parasitized", "Uninfected"}).ok());
  EXPECT_FALSE(ParsePredictionsCsv("h\nx,Parasitized\n", {"Parasitized", "Uninfected"}).ok());
}

TEST(SuspectsTest, WeakFoldModelsAreCalledOut) {
  // Near-chance models (the case of five 1-epoch folds): most images look "suspect".
  std::vector<OofPrediction> weak;
  for (int i = 0; i < 100; ++i) {
    const double p = i % 2 == 0 ? 0.55 : 0.45;  // barely better than a coin
    weak.push_back({"x.png", i % 2, {i % 3 == 0 ? 1 - p : p, i % 3 == 0 ? p : 1 - p}});
  }
  std::vector<double> thresholds;
  const std::vector<Suspect> many = FindSuspects(weak, 2, &thresholds);
  const OofQuality q = MeasureOof(weak, 2, many.size());
  EXPECT_NEAR(q.chance, 0.5, 1e-12);
  const std::string warning = WeakModelWarning(q);
  EXPECT_NE(warning.find("too weak"), std::string::npos) << warning;
  EXPECT_NE(warning.find("chance 0.500"), std::string::npos) << warning;

  // Good models with a few confident disagreements: no warning.
  std::vector<OofPrediction> good;
  for (int i = 0; i < 100; ++i)
    good.push_back({"y.png", i % 2, {i % 2 == 0 ? 0.97 : 0.03, i % 2 == 0 ? 0.03 : 0.97}});
  good[0].probabilities = {0.01, 0.99};
  const OofQuality g = MeasureOof(good, 2, 1);
  EXPECT_DOUBLE_EQ(g.accuracy, 0.99);
  EXPECT_EQ(WeakModelWarning(g), "");
}

}  // namespace
}  // namespace malaria::tools
