// Each k-fold config is its recipe's twin: the same experiment but for the name, the description
// and the split. The two files are edited by hand (a text proto has no include), so this test
// catches a change made to one and not the other.
#include <cstdlib>
#include <string>

#include "experiments/config.h"
#include "gtest/gtest.h"

namespace malaria::experiments {
namespace {

ExperimentConfig WithoutNameAndSplit(const std::string& file) {
  const std::string path = std::string(std::getenv("TEST_SRCDIR")) + "/malaria/experiments/" + file;
  absl::StatusOr<ExperimentConfig> c = LoadExperimentConfig(path);
  EXPECT_TRUE(c.ok()) << c.status();
  if (!c.ok()) return {};
  c->clear_name();
  c->clear_description();
  c->mutable_data()->clear_split();
  return *c;
}

void ExpectTwins(const std::string& recipe, const std::string& kfold) {
  const ExperimentConfig a = WithoutNameAndSplit(recipe);
  const ExperimentConfig b = WithoutNameAndSplit(kfold);
  EXPECT_EQ(ToText(a), ToText(b)) << recipe << " and " << kfold << " differ beyond name and split";
  EXPECT_NE(ToText(a), "");
}

TEST(TwinConfigsTest, KFoldConfigsDifferFromTheirRecipeOnlyInNameAndSplit) {
  ExpectTwins("nih50_from_scratch.pbtxt", "nih50_from_scratch_kfold.pbtxt");
  ExpectTwins("nih50_speedrun.pbtxt", "nih50_speedrun_kfold.pbtxt");
  ExpectTwins("nih50_balanced.pbtxt", "nih50_balanced_kfold.pbtxt");
  ExpectTwins("resnet34_two_stage.pbtxt", "resnet34_patient_kfold.pbtxt");
}

// The balanced recipe is the speed run trained longer: the same config but for the epochs and the
// diagnosis rule fitted on its own out-of-fold predictions.
TEST(TwinConfigsTest, TheBalancedRecipeIsTheSpeedRunTrainedLonger) {
  ExperimentConfig fast = WithoutNameAndSplit("nih50_speedrun.pbtxt");
  ExperimentConfig balanced = WithoutNameAndSplit("nih50_balanced.pbtxt");
  EXPECT_EQ(fast.training().stage(0).epochs(), 13);
  EXPECT_EQ(balanced.training().stage(0).epochs(), 39);
  for (ExperimentConfig* c : {&fast, &balanced}) {
    c->mutable_training()->mutable_stage(0)->clear_epochs();
    c->mutable_evaluation()->clear_patient_positive_fraction();
    c->mutable_evaluation()->clear_patient_min_cells();
  }
  EXPECT_EQ(ToText(fast), ToText(balanced));
}

}  // namespace
}  // namespace malaria::experiments
