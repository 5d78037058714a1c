#include "training/training_config.h"

#include <string>

#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

// The deprecated config fields are used on purpose: this tests how they are read.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

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
    loss_smoothing_beta: 1
    mixup { alpha: 11 }
    weight_average { decay: 1 }
    precise_bn { batches: -1 }
    loss { label_smoothing: -0.1 }
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
           "training.mixup.alpha: must be in [0, 10], got 11",
           "training.weight_average.decay: must be in [0, 1), got 1",
           "training.precise_bn.batches: must be >= 0 (0: off), got -1",
           "training.loss.label_smoothing: must be in [0, 1), got -0.1",
           "training.loss_smoothing_beta: must be in [0, 1), got 1",
           "training.distributed.bucket_mib: must be >= 1, got 0",
       }) {
    EXPECT_NE(problems.find(expected), std::string::npos) << expected << "\n" << problems;
  }
  EXPECT_NE(Problems("").find("training.stage: at least one stage is needed"), std::string::npos);
}

// Configs and runs written before the ingredients had messages of their own read as they did.
TEST(TrainingConfigTest, DeprecatedSpellingsAreReadIntoTheirFields) {
  TrainingConfig config;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
      R"pb(
        monitor: "valid_loss"
        label_smoothing: 0.1
        mixup_alpha: 0.4
        ema_decay: 0.999
        precise_bn_batches: 32
      )pb",
      &config));
  ASSERT_TRUE(UpgradeTrainingConfig(&config).ok());
  EXPECT_EQ(config.best_epoch_by(), TrainingConfig::VALID_LOSS);
  EXPECT_EQ(config.loss().label_smoothing(), 0.1);
  EXPECT_EQ(config.mixup().alpha(), 0.4);
  EXPECT_EQ(config.weight_average().decay(), 0.999);
  EXPECT_EQ(config.precise_bn().batches(), 32);
  for (bool set : {config.has_monitor(), config.has_label_smoothing(), config.has_mixup_alpha(),
                   config.has_ema_decay(), config.has_precise_bn_batches()}) {
    EXPECT_FALSE(set);
  }
  // Both spellings with the same value are one setting; with two values, an error naming both.
  config.set_ema_decay(0.999);
  EXPECT_TRUE(UpgradeTrainingConfig(&config).ok());
  config.set_ema_decay(0.99);
  const absl::Status both = UpgradeTrainingConfig(&config);
  EXPECT_EQ(both.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(both.message().find("training.ema_decay: the deprecated spelling of "
                                "training.weight_average.decay"),
            std::string::npos)
      << both;
  config.Clear();
  config.set_monitor("f1");
  const absl::Status unknown = UpgradeTrainingConfig(&config);
  EXPECT_NE(
      unknown.message().find("training.monitor: must be 'accuracy' or 'valid_loss', got 'f1'"),
      std::string::npos)
      << unknown;
  // Not upgraded, a deprecated field is a problem named by validation.
  config.Clear();
  config.set_mixup_alpha(0.4);
  EXPECT_NE(Problems("mixup_alpha: 0.4").find("training.mixup_alpha: deprecated"),
            std::string::npos);
}

}  // namespace
}  // namespace malaria::training
