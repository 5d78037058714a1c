// The fixture of the Learner's tests (learner_test.cc: what it learns and computes;
// learner_fault_test.cc: checkpoints, resuming, and what stops a stage): a 400-image synthetic set
// at 48 px, a 25 % random split, a ResNet-18 and a learner over it with the ingredients a test
// names.
#ifndef MALARIA_TRAINING_LEARNER_FIXTURE_H_
#define MALARIA_TRAINING_LEARNER_FIXTURE_H_

#include <torch/torch.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "base/files.h"
#include "data/data_config.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "data/split.h"
#include "data/synthetic.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "training/ingredients.h"
#include "training/learner.h"

namespace malaria::training::learner_testing {

template <typename T>
T Parse(const std::string& text) {
  T message;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &message)) << text;
  return message;
}

class LearnerFixture : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    at::set_num_threads(2);
    const std::string dir = base::JoinPath(std::getenv("TEST_TMPDIR"), "cells");
    std::filesystem::remove_all(dir);
    data::SyntheticOptions options;
    options.num_images = 400;
    options.image_size = 56;
    options.seed = 3;
    ASSERT_TRUE(data::WriteSyntheticDataset(dir, options).ok());
    const absl::StatusOr<data::Dataset> ds = data::ScanImageFolder(dir);
    ASSERT_TRUE(ds.ok());
    source_ = new std::shared_ptr<data::ImageSource>(std::make_shared<data::ImageSource>(
        data::ImageSource::Load(*ds, 48, 2, int64_t{1} << 30, nullptr)));
  }
  static void TearDownTestSuite() { delete source_; }

  void SetUp() override {
    torch::manual_seed(0);
    const data::Split split = data::RandomSplit((*source_)->dataset().examples.size(), 0.25, 1);
    data::DataConfig config;
    config.set_batch_size(32);
    config.set_image_size(48);
    config.mutable_augmentation()->set_max_warp(0);
    data::FillDataDefaults(&config);
    const data::LoaderOptions o =
        *data::BuildLoaderOptions(config, data::LoaderRole::kEvaluation, /*seed=*/5, 2);
    const data::LoaderOptions t =
        *data::BuildLoaderOptions(config, data::LoaderRole::kTraining, /*seed=*/5, 2);
    train_ = std::make_unique<data::BatchLoader>(*source_, split.train, t);
    valid_ = std::make_unique<data::BatchLoader>(*source_, split.valid, o);
    model_ = *models::BuildClassifier(Parse<models::ModelConfig>("architecture: 'resnet18'"), 2);
  }

  // A learner over model_ with seed 17, NCHW batches and the ingredients `training` (a
  // TrainingConfig in text format) turns on.
  Learner MakeLearner(const std::string& checkpoint_dir = "", const std::string& training = "",
                      const std::string& config_text = "") {
    Learner::Options options;
    options.seed = 17;
    options.channels_last = false;
    options.checkpoint_dir = checkpoint_dir;
    options.config_text = config_text;
    IngredientContext context;
    context.seed = options.seed;
    context.model = model_->config();
    absl::StatusOr<TrainingCallbacks> ingredients =
        BuildCallbacks(Parse<TrainingConfig>(training), context);
    EXPECT_TRUE(ingredients.ok()) << ingredients.status();
    return Learner(model_, train_.get(), valid_.get(), options, *std::move(ingredients));
  }

  inline static std::shared_ptr<data::ImageSource>* source_ = nullptr;
  std::unique_ptr<data::BatchLoader> train_, valid_;
  models::Classifier model_{nullptr};
};

}  // namespace malaria::training::learner_testing

#endif  // MALARIA_TRAINING_LEARNER_FIXTURE_H_
