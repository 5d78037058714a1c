#include "experiments/run_recorder.h"

#include <cstdlib>
#include <filesystem>
#include <string>

#include "base/files.h"
#include "base/test_util.h"
#include "gtest/gtest.h"

namespace malaria::experiments {
namespace {

// Four validation images of two patients; the model is right on three.
training::EpochResult Epoch(int stage_index, const std::string& stage, int epoch, double accuracy) {
  training::EpochResult r;
  r.stage = stage;
  r.stage_index = stage_index;
  r.epoch = epoch;
  r.epochs = 2;
  r.train_loss = 0.5 / epoch;
  r.valid_loss = 0.4 / epoch;
  r.accuracy = accuracy;
  r.error_rate = 1 - accuracy;
  r.lrs = {1e-4, 1e-3, 1e-2};
  r.seconds = 12;
  r.is_best = true;
  r.valid.num_classes = 2;
  r.valid.probabilities = {0.9f, 0.1f, 0.2f, 0.8f, 0.6f, 0.4f, 0.3f, 0.7f};
  r.valid.labels = {0, 1, 1, 1};
  r.valid.indices = {0, 1, 2, 3};
  r.valid.losses = {0.1f, 0.2f, 0.9f, 0.3f};
  r.valid.mean_loss = 0.375;
  return r;
}

data::Dataset FourImages() {
  data::Dataset ds;
  ds.root = "/data";
  ds.classes = {"Parasitized", "Uninfected"};
  ds.examples = {{"/data/Parasitized/C1P1_a.png", 0, "P1"},
                 {"/data/Uninfected/C1P1_b.png", 1, "P1"},
                 {"/data/Uninfected/C2P2_c.png", 1, "P2"},
                 {"/data/Uninfected/C2P2_d.png", 1, "P2"}};
  return ds;
}

TEST(RunRecorderTest, EveryEpochIsRecordedInMetricsCurvesAndRunInfo) {
  const std::string root = base::JoinPath(std::getenv("TEST_TMPDIR"), "recorder");
  std::filesystem::remove_all(root);
  absl::StatusOr<RunDirectory> run = RunDirectory::Create(root, "exp");
  ASSERT_TRUE(run.ok());
  RunInfo info;
  info.set_experiment("exp");
  info.set_status(RunInfo::RUNNING);
  MetricsTable table;
  const data::Dataset dataset = FourImages();
  std::FILE* out = std::tmpfile();
  training::ProgressPrinter printer(out, /*is_terminal=*/0);
  RunRecorder recorder(*run, &info, &table, &printer, dataset.classes, 0, dataset,
                       evaluation::EvaluationConfig());
  training::EpochResult first = Epoch(0, "frozen", 1, 0.75);
  training::FitState state;
  state.epoch_result = &first;
  ASSERT_TRUE(recorder.OnEpochEnd(state).ok());
  training::EpochResult second = Epoch(0, "frozen", 2, 0.5);
  second.is_best = false;
  ASSERT_TRUE(recorder.Record(second).ok());

  const std::string csv = *base::ReadFile(run->File("metrics.csv"));
  EXPECT_EQ(csv.find(MetricsTable::Header()), 0u) << csv;
  EXPECT_NE(csv.find("\nfrozen,1,0.5"), std::string::npos) << csv;
  EXPECT_NE(csv.find("\nfrozen,2,0.25"), std::string::npos) << csv;
  EXPECT_TRUE(base::PathExists(run->File("learning_curves.png")));
  absl::StatusOr<RunInfo> written = ReadRunInfo(*run);
  ASSERT_TRUE(written.ok()) << written.status();
  ASSERT_EQ(written->stage_size(), 1);
  EXPECT_EQ(written->stage(0).name(), "frozen");
  EXPECT_EQ(written->stage(0).epochs_completed(), 2);
  EXPECT_DOUBLE_EQ(written->stage(0).best_accuracy(), 0.75);
  EXPECT_DOUBLE_EQ(written->stage(0).final_accuracy(), 0.5);
  // The table row went to the terminal too, the best epoch starred.
  const std::string text = base::ReadAll(out);
  EXPECT_NE(text.find("0.750000  0.250000   00:12  *"), std::string::npos) << text;
  std::fclose(out);
}

TEST(RunRecorderTest, LrFinderCurveAsCsvAndPicture) {
  const std::string root = base::JoinPath(std::getenv("TEST_TMPDIR"), "finder");
  std::filesystem::remove_all(root);
  absl::StatusOr<RunDirectory> run = RunDirectory::Create(root, "exp");
  ASSERT_TRUE(run.ok());
  training::LrFinderResult found;
  for (int i = 0; i < 30; ++i) {
    found.lrs.push_back(1e-5 * std::pow(1.5, i));
    found.raw_losses.push_back(1.0 - 0.02 * i);
    found.losses.push_back(1.0 - 0.02 * i);
  }
  ASSERT_TRUE(RecordLrFinder(*run, "stage1", found, 3e-3).ok());
  const std::string csv = *base::ReadFile(run->File("lr_find_stage1.csv"));
  EXPECT_EQ(csv.rfind("lr,loss,smoothed_loss\n1e-05,1.000000,1.000000\n", 0), 0u) << csv;
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 31);
  EXPECT_TRUE(base::PathExists(run->File("lr_find_stage1.png")));
}

// With checkpoints after it, run_info counts an epoch as completed only once its checkpoint is
// saved: the recorder's write counts the epoch before, the durable-epochs callback (after the
// saver) the epoch itself. A run killed in between says it resumes after the earlier epoch.
TEST(RunRecorderTest, EpochsCountAsCompletedOnceTheirCheckpointIsSaved) {
  const std::string root = base::TestDir("durable");
  absl::StatusOr<RunDirectory> run = RunDirectory::Create(root, "exp");
  ASSERT_TRUE(run.ok());
  RunInfo info;
  info.set_experiment("exp");
  info.set_status(RunInfo::RUNNING);
  MetricsTable table;
  const data::Dataset dataset = FourImages();
  RunRecorder recorder(*run, &info, &table, nullptr, dataset.classes, 0, dataset,
                       evaluation::EvaluationConfig());
  training::Callback* durable = recorder.DurableEpochs();
  for (int epoch = 1; epoch <= 2; ++epoch) {
    training::EpochResult r = Epoch(0, "frozen", epoch, 0.75);
    training::FitState state;
    state.epoch_result = &r;
    ASSERT_TRUE(recorder.OnEpochEnd(state).ok());
    // The row is in metrics.csv; run_info still counts the epoch before (killed here, a resume
    // redoes this epoch, as the record says).
    EXPECT_EQ(ReadRunInfo(*run)->stage(0).epochs_completed(), epoch - 1);
    ASSERT_TRUE(durable->OnEpochEnd(state).ok());  // ... the checkpoint is saved
    EXPECT_EQ(ReadRunInfo(*run)->stage(0).epochs_completed(), epoch);
  }
  EXPECT_EQ(table.rows().size(), 2u);
}

}  // namespace
}  // namespace malaria::experiments
