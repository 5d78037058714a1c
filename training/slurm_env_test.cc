#include "training/slurm_env.h"

#include <map>
#include <string>

#include "gtest/gtest.h"

namespace malaria::training {
namespace {

EnvReader Env(const std::map<std::string, std::string>& vars) {
  return [vars](const char* name) -> const char* {
    const auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
}

TEST(SlurmEnvTest, HostListsExpandWithTheirPadding) {
  absl::StatusOr<std::vector<std::string>> hosts = ExpandSlurmHostList("node[01-03,07],gpu5");
  ASSERT_TRUE(hosts.ok()) << hosts.status();
  EXPECT_EQ(*hosts, (std::vector<std::string>{"node01", "node02", "node03", "node07", "gpu5"}));
  EXPECT_EQ(*ExpandSlurmHostList("vm"), (std::vector<std::string>{"vm"}));
  EXPECT_EQ(*ExpandSlurmHostList("a[8-10]-ib"),
            (std::vector<std::string>{"a8-ib", "a9-ib", "a10-ib"}));
  EXPECT_FALSE(ExpandSlurmHostList("node[1-3").ok());
  EXPECT_FALSE(ExpandSlurmHostList("node[3-1]").ok());
}

TEST(SlurmEnvTest, TasksPerNodeReadsRepeats) {
  EXPECT_EQ(*TasksOnNode("2(x3),1", 0), 2);
  EXPECT_EQ(*TasksOnNode("2(x3),1", 2), 2);
  EXPECT_EQ(*TasksOnNode("2(x3),1", 3), 1);
  EXPECT_EQ(*TasksOnNode("4", 0), 4);
  EXPECT_FALSE(TasksOnNode("2(x3),1", 4).ok());
  EXPECT_FALSE(TasksOnNode("two", 0).ok());
}

TEST(SlurmEnvTest, AnSrunTaskIsARankOfTheStep) {
  const auto step = SlurmStepFromEnvironment(Env({{"SLURM_STEP_NUM_TASKS", "8"},
                                                  {"SLURM_PROCID", "5"},
                                                  {"SLURM_LOCALID", "1"},
                                                  {"SLURM_NODEID", "2"},
                                                  {"SLURM_STEP_TASKS_PER_NODE", "2(x4)"},
                                                  {"SLURM_STEP_NODELIST", "c[3-6]"},
                                                  {"SLURM_JOB_ID", "1234"},
                                                  {"SLURM_STEP_ID", "0"}}));
  ASSERT_TRUE(step.ok()) << step.status();
  ASSERT_TRUE(step->has_value());
  EXPECT_EQ((*step)->rank, 5);
  EXPECT_EQ((*step)->world_size, 8);
  EXPECT_EQ((*step)->local_rank, 1);
  EXPECT_EQ((*step)->local_world_size, 2);
  EXPECT_EQ((*step)->master_addr, "c3");
  EXPECT_EQ((*step)->master_port, 20000 + (1234 * 7) % 30000);
}

TEST(SlurmEnvTest, ABatchScriptOrOneTaskIsNotADataParallelJob) {
  // sbatch -n 4: the batch script sees SLURM_NTASKS=4 and SLURM_PROCID=0 but is one process.
  auto step = SlurmStepFromEnvironment(
      Env({{"SLURM_NTASKS", "4"}, {"SLURM_PROCID", "0"}, {"SLURM_JOB_NODELIST", "vm"}}));
  ASSERT_TRUE(step.ok());
  EXPECT_FALSE(step->has_value());
  step = SlurmStepFromEnvironment(Env({{"SLURM_STEP_NUM_TASKS", "1"}, {"SLURM_PROCID", "0"}}));
  ASSERT_TRUE(step.ok());
  EXPECT_FALSE(step->has_value());
  EXPECT_FALSE(SlurmStepFromEnvironment(Env({})).value().has_value());
}

TEST(SlurmEnvTest, MalformedVariablesAreNamed) {
  auto step = SlurmStepFromEnvironment(
      Env({{"SLURM_STEP_NUM_TASKS", "2"}, {"SLURM_PROCID", "x"}, {"SLURM_STEP_NODELIST", "vm"}}));
  ASSERT_FALSE(step.ok());
  EXPECT_NE(step.status().message().find("SLURM_PROCID='x'"), absl::string_view::npos);
  step = SlurmStepFromEnvironment(Env({{"SLURM_STEP_NUM_TASKS", "2"}, {"SLURM_PROCID", "1"}}));
  ASSERT_FALSE(step.ok());
  EXPECT_NE(step.status().message().find("SLURM_STEP_NODELIST"), absl::string_view::npos);
  step = SlurmStepFromEnvironment(Env({{"SLURM_STEP_NUM_TASKS", "2"},
                                       {"SLURM_PROCID", "1"},
                                       {"SLURM_STEP_NODELIST", "vm"},
                                       {"MASTER_PORT", "29400"}}));
  ASSERT_TRUE(step.ok());
  EXPECT_EQ((*step)->master_port, 29400);
  EXPECT_EQ((*step)->local_world_size, 2);
}

}  // namespace
}  // namespace malaria::training
