#include "evaluation/evaluation_config.h"

#include <string>

#include "gtest/gtest.h"

namespace malaria::evaluation {
namespace {

TEST(EvaluationConfigTest, DefaultsAreValidAndBrokenRulesAreNamed) {
  base::ConfigProblems ok;
  ValidateEvaluationConfig(EvaluationConfig(), ok.In("evaluation"));
  EXPECT_TRUE(ok.empty());

  EvaluationConfig config;
  config.set_positive_class("");
  config.set_calibration_bins(0);
  config.set_patient_positive_fraction(0);
  config.set_top_losses(-1);
  base::ConfigProblems problems;
  ValidateEvaluationConfig(config, problems.In("evaluation"));
  const std::string text(problems.ToStatus().message());
  for (const char* expected : {"evaluation.positive_class: must name one of the dataset's classes",
                               "evaluation.calibration_bins: must be >= 1, got 0",
                               "evaluation.patient_positive_fraction: must be in (0, 1], got 0",
                               "evaluation.top_losses: must be >= 0, got -1"}) {
    EXPECT_NE(text.find(expected), std::string::npos) << expected << "\n" << text;
  }
}

}  // namespace
}  // namespace malaria::evaluation
