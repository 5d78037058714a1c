#include "training/training_config.h"

#include <string>

#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace malaria::training {
namespace {

std::string Problems(const std::string& text) {
  TrainingConfig config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &config)) << text;
  base::ConfigProblems problems;
  ValidateTrainingConfig(config, problems.In("training"));
  return std::string(problems.ToStatus().message());
}

TEST(TrainingConfigTest, TheStudysStagesAreValid) {
  EXPECT_EQ(Problems(R"pb(
              stage {
                name: "stage1"
                epochs: 8
                freeze_to: -1
                lr { max: 3e-3 }
                lr_find: true
              }
              stage {
                name: "stage2"
                epochs: 4
                lr { slice { start: 1e-6 stop: 1e-5 } }
              }
              stage {
                name: "auto"
                epochs: 1
                lr { auto: true }
              }
            )pb"),
            "");
}

TEST(TrainingConfigTest, EveryBrokenRuleIsNamedByItsPath) {
  const std::string problems = Problems(R"pb(
    monitor: "f1"
    loss_smoothing_beta: 1
    distributed { bucket_mib: 0 }
    stage {
      name: "a/b"
      epochs: 0
      lr { max: 20 }
      freeze_to: 3
      one_cycle { pct_start: 1 }
    }
    stage {
      name: "s"
      epochs: 1
      lr { slice { start: 1e-4 stop: 1e-5 } }
      lr_finder { beta1: 1 }
    }
    stage { name: "s" epochs: 1 }
    stage {
      name: "small"
      epochs: 4
      lr { max: 1e-3 }
      progressive_resize { start_size: 16 start_epoch: 2 end_epoch: 4 }
    }
  )pb");
  for (const char* expected : {
           "training.stage[0].name: must be set, using letters, digits",
           "training.stage[0].epochs: must be > 0, got 0",
           "training.stage[0].lr.max: must be in (0, 10), got 20",
           "training.stage[0].freeze_to: must be in [-3, 2] for the 3 layer groups",
           "training.stage[0].one_cycle.pct_start: must be in (0, 1), got 1",
           "training.stage[1].lr.slice: needs start <= stop",
           "training.stage[1].lr_finder.beta1: must be in (0, 1), got 1",
           "training.stage[2].lr: must be set",
           "training.stage[2].name: 's' is used twice",
           "training.stage[3].progressive_resize.start_size: must be in [32, 2048]",
           "training.stage[3].progressive_resize.end_epoch: must be in (start_epoch, epochs) = "
           "(2, 4): epochs count from 0 and the last trains at data.image_size, got 4",
           "training.monitor: must be 'accuracy' or 'valid_loss', got 'f1'",
           "training.loss_smoothing_beta: must be in [0, 1), got 1",
           "training.distributed.bucket_mib: must be >= 1, got 0",
       }) {
    EXPECT_NE(problems.find(expected), std::string::npos) << expected << "\n" << problems;
  }
  EXPECT_NE(Problems("").find("training.stage: at least one stage is needed"), std::string::npos);
}

TEST(TrainingConfigTest, BuildMonitorKnowsTwoMetrics) {
  EXPECT_EQ(*BuildMonitor("accuracy"), Monitor::kAccuracy);
  EXPECT_EQ(*BuildMonitor("valid_loss"), Monitor::kValidLoss);
  const absl::StatusOr<Monitor> bad = BuildMonitor("error_rate");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("training.monitor"), std::string::npos);
}

}  // namespace
}  // namespace malaria::training
