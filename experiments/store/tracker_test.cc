#include "experiments/store/tracker.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/files.h"
#include "base/interrupt.h"
#include "experiments/store/run_info.pb.h"
#include "gtest/gtest.h"

namespace malaria::experiments {
namespace {

std::string Root(const std::string& name) {
  const std::string root = base::JoinPath(std::getenv("TEST_TMPDIR"), name);
  std::filesystem::remove_all(root);
  return root;
}

TEST(TrackerTest, RunsStartedInTheSameSecondEachGetTheirOwnDirectory) {
  const std::string root = Root("same_second");
  const std::time_t now = 1795000000;
  absl::StatusOr<RunDirectory> a = RunDirectory::Create(root, "exp", now);
  absl::StatusOr<RunDirectory> b = RunDirectory::Create(root, "exp", now);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->path(), b->path());
  EXPECT_EQ(a->id(), "20261118-110640");
  EXPECT_EQ(b->id(), "20261118-110640-2");
  ASSERT_TRUE(a->WriteFile("metrics.csv", "a").ok());
  ASSERT_TRUE(b->WriteFile("metrics.csv", "b").ok());
  EXPECT_EQ(*base::ReadFile(a->File("metrics.csv")), "a");
}

TEST(TrackerTest, ConcurrentCreatesNeverShareADirectory) {
  const std::string root = Root("concurrent");
  std::vector<std::string> paths(16);
  std::vector<std::thread> threads;
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back(
        [&, i] { paths[i] = RunDirectory::Create(root, "exp", 1795000000)->path(); });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(std::set<std::string>(paths.begin(), paths.end()).size(), 16u);
}

TEST(TrackerTest, WritesProtosAndNestedFiles) {
  const std::string root = Root("write");
  absl::StatusOr<RunDirectory> run = RunDirectory::Create(root, "exp");
  ASSERT_TRUE(run.ok());
  RunInfo info;
  info.set_status(RunInfo::RUNNING);
  info.set_experiment("exp");
  ASSERT_TRUE(run->WriteProto("run_info.pbtxt", info).ok());
  const std::string text = *base::ReadFile(run->File("run_info.pbtxt"));
  EXPECT_NE(text.find("status: RUNNING"), std::string::npos) << text;
  ASSERT_TRUE(run->WriteFile("split/valid.txt", "a\tB\n").ok());
  EXPECT_TRUE(base::PathExists(run->File("split/valid.txt")));
}

TEST(TrackerTest, UnwritableRootIsAClearError) {
  const absl::StatusOr<RunDirectory> run = RunDirectory::Create("/proc/no-runs-here", "exp");
  ASSERT_FALSE(run.ok());
  EXPECT_NE(run.status().message().find("/proc/no-runs-here"), std::string::npos);
}

TEST(TrackerTest, IsoTimeIsUtc) { EXPECT_EQ(IsoTime(0), "1970-01-01T00:00:00Z"); }

TEST(TrackerTest, ProvenanceOutsideGitIsUnknown) {
  const Provenance p = GatherProvenance(Root("not_git"));
  EXPECT_EQ(p.git_commit, "unknown");
  EXPECT_FALSE(p.host.empty());
}

// A run stopped at once by a second Ctrl-C is still recorded as INTERRUPTED (and so can be
// resumed): WriteRunInfo keeps that record ready for the signal handler.
TEST(TrackerTest, ASecondInterruptLeavesTheRunInterruptedNotRunning) {
  const std::string root = Root("second_interrupt");
  const RunDirectory run = *RunDirectory::Create(root, "exp");
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(STDERR_FILENO);
    base::InstallInterruptHandler();
    RunInfo info;
    info.set_experiment("exp");
    info.set_status(RunInfo::RUNNING);
    info.add_stage()->set_epochs_completed(3);
    if (!WriteRunInfo(run, info).ok()) ::_exit(3);
    ::raise(SIGINT);  // the first: a request
    ::raise(SIGINT);  // the second: now
    ::_exit(4);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "exit " << WEXITSTATUS(status);
  const absl::StatusOr<RunInfo> info = ReadRunInfo(run);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->status(), RunInfo::INTERRUPTED);
  EXPECT_NE(info->reason().find("second interrupt"), std::string::npos) << info->reason();
  EXPECT_NE(info->reason().find("--resume continues after epoch 3 of stage "), std::string::npos)
      << info->reason();
  EXPECT_EQ(info->stage(0).epochs_completed(), 3);
  // Once a run has ended, a later second signal has nothing to record.
  RunInfo done = *info;
  done.set_status(RunInfo::COMPLETED);
  ASSERT_TRUE(WriteRunInfo(run, done).ok());
}

// A record without a status (an empty run_info.pbtxt, a write cut short) is no run's record.
TEST(TrackerTest, ARecordWithoutAStatusIsRefused) {
  const std::string root = base::JoinPath(std::getenv("TEST_TMPDIR"), "empty_record");
  std::filesystem::remove_all(root);
  const RunDirectory run = *RunDirectory::Create(root, "exp");
  ASSERT_TRUE(run.WriteFile("run_info.pbtxt", "").ok());
  const absl::Status s = ReadRunInfo(run).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("run_info.pbtxt records no status"), std::string::npos) << s;
}

}  // namespace
}  // namespace malaria::experiments
