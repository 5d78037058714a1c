#include "experiments/store/runs_root.h"

#include <cstdlib>

#include "gtest/gtest.h"

namespace malaria::experiments {
namespace {

class TrackerRootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("BUILD_WORKING_DIRECTORY", "/here", 1);
    unsetenv("MALARIA_RUNS_DIR");
  }
  void TearDown() override {
    unsetenv("BUILD_WORKING_DIRECTORY");
    unsetenv("MALARIA_RUNS_DIR");
  }
};

TEST_F(TrackerRootTest, FlagThenEnvironmentThenConfigThenWorkspace) {
  setenv("MALARIA_RUNS_DIR", "team/runs", 1);
  EXPECT_EQ(TrackerRoot("mine", "cfg", "/ws"), "/here/mine");
  EXPECT_EQ(TrackerRoot("/abs/runs", "cfg", "/ws"), "/abs/runs");
  EXPECT_EQ(TrackerRoot("", "cfg", "/ws"), "/here/team/runs");
  unsetenv("MALARIA_RUNS_DIR");
  EXPECT_EQ(TrackerRoot("", "cfg/../other", "/ws"), "/ws/other");
  EXPECT_EQ(TrackerRoot("", "/abs/cfg", "/ws"), "/abs/cfg");
  EXPECT_EQ(TrackerRoot("", "", "/ws"), "/ws/runs");
}

TEST_F(TrackerRootTest, AnEmptyEnvironmentVariableIsUnset) {
  setenv("MALARIA_RUNS_DIR", "", 1);
  EXPECT_EQ(TrackerRoot("", "", "/ws"), "/ws/runs");
}

}  // namespace
}  // namespace malaria::experiments
