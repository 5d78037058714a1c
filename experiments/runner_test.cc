#include "experiments/runner.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "base/files.h"
#include "base/test_util.h"
#include "gtest/gtest.h"

namespace malaria::experiments {
namespace {

std::string Read(std::FILE* f) {
  const std::string s = base::ReadAll(f);
  std::fclose(f);
  return s;
}

TEST(RunnerTest, RecordedPathsAreTheOnesATeammateCanOpen) {
  const std::string workspace = base::JoinPath(std::getenv("TEST_TMPDIR"), "ws");
  std::filesystem::create_directories(workspace + "/experiments");
  ASSERT_TRUE(base::WriteFileAtomically(workspace + "/experiments/x.pbtxt", "").ok());
  // A file in the workspace: relative to it.
  EXPECT_EQ(RecordedPath(workspace + "/experiments/x.pbtxt", workspace), "experiments/x.pbtxt");
  // Bazel's runfiles copy of a workspace file: the workspace file.
  EXPECT_EQ(RecordedPath("/root/.cache/bazel/_bazel_root/abc/execroot/malaria/bazel-out/k8-opt/"
                         "bin/experiments/resnet34_two_stage.runfiles/malaria/experiments/"
                         "resnet34_two_stage.pbtxt",
                         workspace),
            "experiments/resnet34_two_stage.pbtxt");
  // Elsewhere: absolute. Not a path: as given.
  const std::string outside = base::JoinPath(std::getenv("TEST_TMPDIR"), "other.pbtxt");
  ASSERT_TRUE(base::WriteFileAtomically(outside, "").ok());
  EXPECT_EQ(RecordedPath(outside, workspace), outside);
  EXPECT_EQ(RecordedPath("--set", workspace), "--set");
  EXPECT_EQ(RecordedPath("data.image_size=64", workspace), "data.image_size=64");
}

RunResult Ended(RunInfo::Status status, int epochs) {
  RunResult r;
  r.run_dir = "/runs/x/1";
  r.info.set_status(status);
  r.info.set_reason("interrupted during stage 'frozen' epoch 1 batch 3");
  if (epochs > 0) {
    StageSummary* s = r.info.add_stage();
    s->set_name("frozen");
    s->set_epochs_completed(epochs);
  }
  return r;
}

TEST(RunnerTest, TheEndMessageSaysWhatResumeWillDo) {
  std::FILE* out = std::tmpfile();
  std::FILE* err = std::tmpfile();
  EXPECT_EQ(ReportEnd(Ended(RunInfo::INTERRUPTED, 0), true, out, err), 130);
  std::string said = Read(err);
  EXPECT_NE(said.find("No epoch's checkpoint had been saved, so --resume /runs/x/1 starts the run "
                      "again from its beginning"),
            std::string::npos)
      << said;
  EXPECT_EQ(said.find("checkpoints up to"), std::string::npos) << said;

  err = std::tmpfile();
  EXPECT_EQ(ReportEnd(Ended(RunInfo::INTERRUPTED, 2), true, out, err), 130);
  said = Read(err);
  EXPECT_NE(said.find("checkpoints up to epoch 2 of stage frozen; --resume /runs/x/1 continues "
                      "after it"),
            std::string::npos)
      << said;

  err = std::tmpfile();
  EXPECT_EQ(ReportEnd(Ended(RunInfo::FAILED, 1), true, out, err), 1);
  EXPECT_NE(Read(err).find("FAILED: "), std::string::npos);
  err = std::tmpfile();
  EXPECT_EQ(ReportEnd(Ended(RunInfo::COMPLETED, 3), true, out, err), 0);
  std::fclose(err);
  EXPECT_NE(Read(out).find("Completed in"), std::string::npos);
}

}  // namespace
}  // namespace malaria::experiments
