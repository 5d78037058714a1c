#include "experiments/resume_point.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "base/files.h"
#include "experiments/test_config.h"
#include "gtest/gtest.h"
#include "training/checkpoint.h"

namespace malaria::experiments {
namespace {

ExperimentConfig TwoStages() {
  return TestConfig(
      R"pb(name: "r"
           model { architecture: "resnet18" }
           training {
             stage {
               name: "frozen"
               epochs: 2
               lr { max: 1e-3 }
             }
             stage {
               name: "unfrozen"
               epochs: 3
               lr { max: 1e-3 }
             }
           })pb");
}

// Writes <stage>_last.pt recording `epochs` completed epochs of stage `index`.
void Checkpoint(const RunDirectory& run, const std::string& stage, int index, int epochs) {
  static models::Classifier* model =
      new models::Classifier(*models::BuildClassifier(TwoStages().model(), 2));
  training::TrainingProgress progress;
  progress.stage_index = index;
  progress.epochs_completed = epochs;
  ASSERT_TRUE(base::MakeDirs(run.File("checkpoints")).ok());
  ASSERT_TRUE(
      training::SaveCheckpoint(training::CheckpointPath(run.File("checkpoints"), stage, "last"),
                               *model, "", nullptr, progress)
          .ok());
}

TEST(ResumePointTest, CompletedAndLiveRunsCannotBeResumed) {
  RunInfo info;
  info.set_status(RunInfo::COMPLETED);
  EXPECT_NE(CheckResumable(info, "/runs/x", "host").message().find("is COMPLETED"),
            std::string::npos);
  info.set_status(RunInfo::RUNNING);
  info.set_host("host");
  info.set_pid(::getpid());  // alive: this process
  EXPECT_NE(CheckResumable(info, "/runs/x", "host").message().find("is still RUNNING as process"),
            std::string::npos);
  EXPECT_TRUE(CheckResumable(info, "/runs/x", "another-host").ok());
  info.set_pid(0);  // no such process: it died without recording its end
  EXPECT_TRUE(CheckResumable(info, "/runs/x", "host").ok());
  info.set_status(RunInfo::INTERRUPTED);
  EXPECT_TRUE(CheckResumable(info, "/runs/x", "host").ok());
  info.set_status(RunInfo::FAILED);
  EXPECT_TRUE(CheckResumable(info, "/runs/x", "host").ok());
}

TEST(ResumePointTest, TheFirstIncompleteStageFromItsCheckpoint) {
  const std::string root = base::JoinPath(std::getenv("TEST_TMPDIR"), "points");
  std::filesystem::remove_all(root);
  const RunDirectory run = *RunDirectory::Create(root, "r");
  const ExperimentConfig config = TwoStages();
  auto at = [&] {
    absl::StatusOr<ResumePoint> p = FindResumePoint(config, run);
    EXPECT_TRUE(p.ok()) << p.status();
    return *p;
  };
  EXPECT_EQ(at().stage, 0);  // nothing yet: from the start
  EXPECT_EQ(at().epochs_completed, 0);
  Checkpoint(run, "frozen", 0, 1);
  EXPECT_EQ(at().stage, 0);
  EXPECT_EQ(at().epochs_completed, 1);
  EXPECT_EQ(at().checkpoint, run.File("checkpoints/frozen_last.pt"));
  Checkpoint(run, "frozen", 0, 2);  // stage 0 complete, stage 1 not begun
  EXPECT_EQ(at().stage, 1);
  EXPECT_EQ(at().epochs_completed, 0);
  EXPECT_EQ(at().checkpoint, "");
  Checkpoint(run, "unfrozen", 1, 3);  // everything done: only the final evaluation is left
  EXPECT_EQ(at().stage, 2);
  ASSERT_TRUE(base::WriteFileAtomically(run.File("checkpoints/unfrozen_last.pt"), "junk").ok());
  EXPECT_EQ(FindResumePoint(config, run).status().code(), absl::StatusCode::kDataLoss);
}

TEST(ResumePointTest, RewindRecordDropsTheEpochsTheResumeRedoes) {
  const std::string root = base::JoinPath(std::getenv("TEST_TMPDIR"), "rewind");
  std::filesystem::remove_all(root);
  const RunDirectory run = *RunDirectory::Create(root, "r");
  MetricsTable table;
  for (const auto& [index, stage, epoch] : std::vector<std::tuple<int, std::string, int>>{
           {0, "frozen", 1}, {0, "frozen", 2}, {1, "unfrozen", 1}, {1, "unfrozen", 2}}) {
    EpochRow row;
    row.stage_index = index;
    row.stage = stage;
    row.epoch = epoch;
    row.accuracy = 0.5 + 0.1 * epoch;
    row.elapsed_seconds = 100 * (2 * index + epoch);  // 100, 200, 300, 400
    table.Add(row);
  }
  ASSERT_TRUE(run.WriteFile("metrics.csv", table.ToCsv()).ok());
  RunInfo info;
  info.add_stage()->set_name("frozen");
  info.add_stage()->set_name("unfrozen");
  // The checkpoint says stage 1 completed one epoch: its second row goes.
  int dropped = -1;
  absl::StatusOr<MetricsTable> rewound =
      RewindRecord(run, TwoStages(), {1, 1, "x"}, &info, &dropped);
  ASSERT_TRUE(rewound.ok()) << rewound.status();
  EXPECT_EQ(rewound->rows().size(), 3u);
  EXPECT_EQ(dropped, 1);
  ASSERT_EQ(info.stage_size(), 2);
  EXPECT_EQ(info.stage(1).epochs_completed(), 1);
  // The session was killed outright (no duration recorded): it counts to its last kept epoch.
  EXPECT_DOUBLE_EQ(info.duration_seconds(), 300);
  // Back to the start of stage 1: its summary goes. A duration recorded by a session that ended
  // cleanly (an interrupt after the last row) is kept.
  info.set_duration_seconds(450);
  rewound = RewindRecord(run, TwoStages(), {1, 0, ""}, &info);
  EXPECT_EQ(rewound->rows().size(), 2u);
  EXPECT_EQ(info.stage_size(), 1);
  EXPECT_DOUBLE_EQ(info.duration_seconds(), 450);
  ASSERT_TRUE(run.WriteFile("metrics.csv", "stage,epoch\nnot,a,row\n").ok());
  EXPECT_EQ(RewindRecord(run, TwoStages(), {1, 0, ""}, &info).status().code(),
            absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace malaria::experiments
