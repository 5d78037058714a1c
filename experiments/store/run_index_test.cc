#include "experiments/store/run_index.h"

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "base/files.h"
#include "base/test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/dashboard/fixture.h"

namespace malaria::experiments {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A process id that existed and is gone.
long DeadPid() {
  const pid_t child = fork();
  if (child == 0) _exit(0);
  waitpid(child, nullptr, 0);
  return child;
}

std::shared_ptr<const IndexedRun> Get(RunIndex& index, const std::string& id) {
  index.Scan();
  return index.Find(id);
}

TEST(ParseMetricsCsvTest, KeepsWholeRowsAndNamesACutLine) {
  std::vector<std::string> problems;
  const CsvTable t =
      ParseMetricsCsv("stage,epoch,accuracy\ntrain,1,0.9\ntrain,2,0.95\ntrain,3", &problems);
  EXPECT_THAT(t.columns, ElementsAre("stage", "epoch", "accuracy"));
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_THAT(t.rows[1], ElementsAre("train", "2", "0.95"));
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_THAT(problems[0], HasSubstr("line 4 has 2 of 3 fields"));
}

TEST(RunIndexTest, ListsEveryRunWithItsRecords) {
  const std::string root = base::TestDir("list");
  tools::FixtureRun a;
  a.experiment = "exp_a";
  a.run_id = "20261201-100000";
  a.final_accuracy = 0.96;
  tools::FixtureRun b = a;
  b.run_id = "20261201-110000";
  b.fold = 2;
  ASSERT_TRUE(tools::WriteFixtureRun(root, a).ok());
  ASSERT_TRUE(tools::WriteFixtureRun(root, b).ok());
  RunIndex index(root, "here");
  const auto runs = index.Scan();
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0]->id, "exp_a/20261201-100000");
  EXPECT_EQ(runs[1]->id, "exp_a/20261201-110000");
  const IndexedRun& r = *runs[0];
  EXPECT_TRUE(r.has_info);
  EXPECT_TRUE(r.has_config);
  EXPECT_TRUE(r.problems.empty()) << r.problems[0];
  EXPECT_EQ(r.status, "COMPLETED");
  EXPECT_EQ(r.epochs_total, 4);
  EXPECT_EQ(r.epochs_done, 4);
  EXPECT_EQ(r.metrics.rows.size(), 4u);
  EXPECT_TRUE(r.run.has_final_report);
  EXPECT_NEAR(r.run.final_report.accuracy(), 0.96, 0.01);
  EXPECT_EQ(runs[1]->run.config.data().split().patient_kfold().fold(), 2);
}

TEST(RunIndexTest, DamagedRunsShowWhatCouldBeReadAndWhyNot) {
  const std::string root = base::TestDir("damaged");
  tools::FixtureRun r;
  r.experiment = "exp";
  r.run_id = "garbage_info";
  ASSERT_TRUE(tools::WriteFixtureRun(root, r).ok());
  ASSERT_TRUE(base::WriteFileAtomically(root + "/exp/garbage_info/run_info.pbtxt", "%%% {{").ok());
  r.run_id = "cut_csv";
  ASSERT_TRUE(tools::WriteFixtureRun(root, r).ok());
  absl::StatusOr<std::string> csv = base::ReadFile(root + "/exp/cut_csv/metrics.csv");
  ASSERT_TRUE(csv.ok());
  ASSERT_TRUE(
      base::WriteFileAtomically(root + "/exp/cut_csv/metrics.csv", csv->substr(0, csv->size() - 20))
          .ok());
  r.run_id = "bad_config";
  ASSERT_TRUE(tools::WriteFixtureRun(root, r).ok());
  ASSERT_TRUE(
      base::WriteFileAtomically(root + "/exp/bad_config/config.pbtxt", "no_such_field: 1").ok());

  testing::internal::CaptureStderr();
  RunIndex index(root, "here");
  index.Scan();
  const std::string printed = testing::internal::GetCapturedStderr();
  EXPECT_EQ(printed, "") << "libprotobuf's error lines must not reach the user";

  auto garbage = index.Find("exp/garbage_info");
  ASSERT_NE(garbage, nullptr);
  EXPECT_EQ(garbage->status, "UNREADABLE");
  EXPECT_THAT(garbage->reason, HasSubstr("run_info.pbtxt"));
  EXPECT_TRUE(garbage->has_config) << "the config is still shown";
  EXPECT_EQ(garbage->metrics.rows.size(), 4u);

  auto cut = index.Find("exp/cut_csv");
  ASSERT_NE(cut, nullptr);
  EXPECT_EQ(cut->status, "COMPLETED");
  EXPECT_EQ(cut->metrics.rows.size(), 3u);
  ASSERT_EQ(cut->problems.size(), 1u);
  EXPECT_THAT(cut->problems[0], HasSubstr("metrics.csv line 5"));

  auto config = index.Find("exp/bad_config");
  ASSERT_NE(config, nullptr);
  EXPECT_FALSE(config->has_config);
  EXPECT_THAT(config->problems[0], HasSubstr("no_such_field"));
}

TEST(RunIndexTest, RunningRunWhoseProcessIsGoneIsDied) {
  const std::string root = base::TestDir("died");
  tools::FixtureRun r = tools::RunningFixture("exp", "alive", 8, 3);
  r.host = "here";
  r.pid = getpid();
  ASSERT_TRUE(tools::WriteFixtureRun(root, r).ok());
  r.run_id = "gone";
  r.pid = DeadPid();
  ASSERT_TRUE(tools::WriteFixtureRun(root, r).ok());
  r.run_id = "elsewhere";
  r.host = "another-machine";
  ASSERT_TRUE(tools::WriteFixtureRun(root, r).ok());
  RunIndex index(root, "here");
  index.Scan();
  auto alive = index.Find("exp/alive");
  EXPECT_EQ(alive->status, "RUNNING");
  EXPECT_EQ(alive->epochs_done, 3);
  EXPECT_EQ(alive->epochs_total, 8);
  EXPECT_EQ(alive->current_stage, "train");
  EXPECT_GE(alive->seconds_since_update, 0);
  auto gone = index.Find("exp/gone");
  EXPECT_EQ(gone->status, "DIED");
  EXPECT_THAT(gone->reason, HasSubstr("is gone"));
  EXPECT_EQ(index.Find("exp/elsewhere")->status, "RUNNING")
      << "a process on another machine cannot be checked from here";
}

TEST(RunIndexTest, RereadsOnlyRunsThatChangedAndForgetsRunsThatWent) {
  const std::string root = base::TestDir("cache");
  tools::FixtureRun r;
  r.experiment = "exp";
  for (const char* id : {"a", "b", "c"}) {
    r.run_id = id;
    ASSERT_TRUE(tools::WriteFixtureRun(root, r).ok());
  }
  RunIndex index(root, "here");
  EXPECT_EQ(index.Find("exp/a"), nullptr) << "nothing is known before the first scan";
  EXPECT_EQ(index.Scan().size(), 3u);
  EXPECT_EQ(index.last_reads(), 3);
  EXPECT_EQ(index.Scan().size(), 3u);
  EXPECT_EQ(index.last_reads(), 0) << "nothing changed: everything from the cache";
  r.run_id = "b";
  r.epochs_done = 2;  // rewrites metrics.csv with other contents
  ASSERT_TRUE(tools::WriteFixtureRun(root, r).ok());
  EXPECT_EQ(index.Scan().size(), 3u);
  EXPECT_EQ(index.last_reads(), 1);
  EXPECT_EQ(index.Find("exp/b")->epochs_done, 2);
  std::filesystem::remove_all(root + "/exp/c");
  EXPECT_EQ(index.Scan().size(), 2u);
  EXPECT_EQ(index.Find("exp/c"), nullptr);
}

TEST(RunIndexTest, SearchCoversConfigDescriptionAndIdsCaseInsensitively) {
  const std::string root = base::TestDir("search");
  tools::FixtureRun r;
  r.experiment = "resnet18_lr";
  r.description = "Mixup Trial";
  r.lr = 0.0042;
  ASSERT_TRUE(tools::WriteFixtureRun(root, r).ok());
  RunIndex index(root, "here");
  auto run = Get(index, "resnet18_lr/20261201-120000");
  ASSERT_NE(run, nullptr);
  EXPECT_TRUE(SearchMatches(*run, ""));
  EXPECT_TRUE(SearchMatches(*run, "mixup"));
  EXPECT_TRUE(SearchMatches(*run, "RESNET18 trial"));
  EXPECT_TRUE(SearchMatches(*run, "0.0042"));
  EXPECT_TRUE(SearchMatches(*run, "alice"));
  EXPECT_FALSE(SearchMatches(*run, "mixup resnet50"));
}

}  // namespace
}  // namespace malaria::experiments
