#include "experiments/stages.h"

#include <ATen/Parallel.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "base/files.h"
#include "base/test_util.h"
#include "experiments/run_model.h"
#include "experiments/test_config.h"
#include "gtest/gtest.h"
#include "training/checkpoint.h"
#include "training/ingredients.h"

namespace malaria::experiments {
namespace {

// Two tiny stages on 80 synthetic cells of 32 px: a frozen one with a short finder and lr auto,
// an unfrozen one that starts from the first's best epoch; the final model is the best epoch.
ExperimentConfig Config() {
  return TestConfig(
      R"pb(name: "stages"
           seed: 5
           data {
             image_size: 32
             batch_size: 16
             loader_threads: 1
             split { patient { valid_pct: 0.25 } }
             synthetic_fallback { num_images: 80 source_size: 36 image_size: 32 num_patients: 8 }
           }
           model { architecture: "resnet18" }
           training {
             threads: 2
             stage {
               name: "frozen"
               epochs: 1
               freeze_to: -1
               lr { auto: true }
               lr_finder { num_iterations: 6 }
             }
             stage {
               name: "unfrozen"
               epochs: 2
               lr { slice { start: 1e-4 stop: 1e-3 } }
               start_from: PREVIOUS_BEST
             }
           }
           evaluation { final_model: BEST })pb");
}

struct Fixture {
  ExperimentConfig config = Config();
  RunDirectory run;
  RunInfo info;
  MetricsTable table;
  RunData data;
  Compute compute;
  RunModel model;
  training::TrainingCallbacks callbacks;
  std::FILE* out = std::tmpfile();

  explicit Fixture(const std::string& name)
      : run(*RunDirectory::Create(base::JoinPath(std::getenv("TEST_TMPDIR"), name), "stages")) {
    const std::string cells = base::JoinPath(std::getenv("TEST_TMPDIR"), "cells");
    if (!base::IsDirectory(cells)) {
      EXPECT_TRUE(data::WriteSyntheticDataset(cells, SyntheticOptionsOf(config)).ok());
    }
    data = *LoadRunData(config, {cells, DatasetInfo::REAL, "test"}, 1, out);
    compute = *SetUpCompute(config, nullptr);
    model = *BuildRunModel(config, 2, out);
    info.set_experiment("stages");
  }
  ~Fixture() { std::fclose(out); }

  TrainingRun Training() {
    TrainingRun r;
    r.config = &config;
    r.run = &run;
    r.info = &info;
    r.table = &table;
    r.data = &data;
    r.model = model.model;
    r.learner = compute.learner;
    // Each training takes the ingredients it is given: a fresh set for each.
    callbacks = *training::BuildCallbacks(config.training(), compute.ingredients);
    r.callbacks = &callbacks;
    r.out = out;
    return r;
  }

  std::string Printed() { return base::ReadAll(out); }
};

TEST(StagesTest, StageLearningRatesFromTheFinderOrTheConfig) {
  const ExperimentConfig config = Config();
  StageSummary summary;
  absl::StatusOr<std::vector<double>> lrs =
      StageLearningRates(config.training().stage(0), 0, summary);
  EXPECT_EQ(lrs.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(lrs.status().message().find("training.stage[0].lr.auto"), std::string::npos);
  summary.set_lr_finder_suggestion(2e-3);
  EXPECT_EQ(*StageLearningRates(config.training().stage(0), 0, summary),
            (std::vector<double>{2e-3, 2e-3, 2e-3}));
  lrs = StageLearningRates(config.training().stage(1), 1, summary);
  ASSERT_TRUE(lrs.ok());
  EXPECT_NEAR((*lrs)[0], 1e-4, 1e-12);
  EXPECT_NEAR((*lrs)[1], std::sqrt(1e-4 * 1e-3), 1e-12);
  training::StageConfig bad = config.training().stage(1);
  bad.mutable_lr()->set_max(40);
  EXPECT_EQ(StageLearningRates(bad, 1, summary).status().message(),
            "training.stage[1].lr.max: must be in (0, 10), got 40");
}

TEST(StagesTest, TrainStagesRunsEveryStepAndRecordsIt) {
  at::set_num_threads(2);
  Fixture f("all");
  ASSERT_TRUE(TrainStages(f.Training(), ResumePoint()).ok()) << f.Printed();
  const std::string printed = f.Printed();
  // The finder ran, its suggestion became stage 1's rate for every group, and was recorded.
  ASSERT_EQ(f.info.stage_size(), 2);
  EXPECT_TRUE(f.info.stage(0).has_lr_finder_suggestion());
  EXPECT_EQ(f.info.stage(0).max_lr(0), f.info.stage(0).lr_finder_suggestion());
  EXPECT_TRUE(base::PathExists(f.run.File("lr_find_frozen.csv")));
  EXPECT_NE(printed.find("frozen: learning-rate finder"), std::string::npos) << printed;
  // Stage 2 started from stage 1's best epoch, by file.
  EXPECT_NE(printed.find("unfrozen starts from " + f.run.File("checkpoints/frozen_best.pt")),
            std::string::npos)
      << printed;
  // Every epoch recorded, each stage evaluated, the final (best) model evaluated.
  EXPECT_EQ(f.table.rows().size(), 3u);
  EXPECT_EQ(f.info.stage(1).epochs_completed(), 2);
  for (const char* file : {"checkpoints/frozen_last.pt", "checkpoints/unfrozen_best.pt",
                           "evaluation/frozen/metrics.pbtxt", "evaluation/unfrozen/roc.png",
                           "metrics.pbtxt", "predictions.csv", "top_losses.png", "metrics.csv"}) {
    EXPECT_TRUE(base::PathExists(f.run.File(file))) << file;
  }
  EXPECT_NE(printed.find("Final model (the best epoch of unfrozen) on " +
                         std::to_string(f.data.split.valid.size()) + " validation images"),
            std::string::npos)
      << printed;
}

// After a resume at the start of stage 2, the weights come from stage 1's checkpoint, not memory.
TEST(StagesTest, AResumedRunStartsItsStageFromTheCheckpoint) {
  at::set_num_threads(2);
  Fixture f("resume");
  f.config.mutable_training()->mutable_stage(1)->set_start_from(
      training::StageConfig::PREVIOUS_LAST);
  f.config.mutable_training()->mutable_stage(1)->set_epochs(1);
  ASSERT_TRUE(TrainStages(f.Training(), ResumePoint()).ok()) << f.Printed();
  f.table = MetricsTable();
  f.info.mutable_stage()->DeleteSubrange(1, 1);
  Fixture again("resume_again");
  again.config = f.config;
  // The same run directory: stage 1 is complete there.
  again.run = f.run;
  again.info = f.info;
  ASSERT_TRUE(TrainStages(again.Training(), ResumePoint{1, 0, ""}).ok()) << again.Printed();
  const std::string printed = again.Printed();
  EXPECT_NE(printed.find("unfrozen starts from " + f.run.File("checkpoints/frozen_last.pt")),
            std::string::npos)
      << printed;
  EXPECT_EQ(printed.find("learning-rate finder"), std::string::npos) << "stage 1 was not redone";
}

TEST(StagesTest, AStageThatCannotStartIsAnError) {
  Fixture f("missing_best");
  // Stage 2 starts from stage 1's best epoch, whose checkpoint is not there.
  const absl::Status s = TrainStages(f.Training(), ResumePoint{1, 0, ""});
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
  EXPECT_NE(s.message().find("frozen_best.pt"), std::string::npos) << s;
}

}  // namespace
}  // namespace malaria::experiments
