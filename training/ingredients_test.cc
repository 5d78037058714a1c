#include "training/ingredients.h"

#include <torch/torch.h>

#include <string>
#include <typeinfo>
#include <vector>

#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "training/callbacks.h"
#include "training/compute_meter.h"
#include "training/ema.h"
#include "training/learner.h"
#include "training/lookahead.h"
#include "training/mixup.h"
#include "training/precise_bn.h"
#include "training/precision.h"

namespace malaria::training {
namespace {

// The ingredients `text` (a TrainingConfig) turns on, by class, in order.
std::vector<std::string> Built(const std::string& text, absl::Status* status = nullptr) {
  TrainingConfig config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &config)) << text;
  absl::StatusOr<TrainingCallbacks> built = BuildCallbacks(config, IngredientContext());
  if (status != nullptr) *status = built.status();
  std::vector<std::string> names;
  if (!built.ok()) return names;
  for (const auto& c : built->callbacks) {
    const Callback& callback = *c;
    if (typeid(callback) == typeid(ComputeMeter)) names.push_back("compute meter");
    if (typeid(callback) == typeid(MixupCallback)) names.push_back("mixup");
    if (typeid(callback) == typeid(Lookahead)) names.push_back("lookahead");
    if (typeid(callback) == typeid(LossSmoothing)) names.push_back("loss smoothing");
    if (typeid(callback) == typeid(WeightAverage)) names.push_back("weight average");
    if (typeid(callback) == typeid(RawWeightsValidation)) names.push_back("raw validation");
    if (typeid(callback) == typeid(PreciseBatchNorm)) names.push_back("precise bn");
    if (typeid(callback) == typeid(BestEpochTracker)) names.push_back("best epoch");
    if (typeid(callback) == typeid(MixedPrecision)) names.push_back("mixed precision");
  }
  return names;
}

TEST(IngredientsTest, AnEmptyConfigTurnsOnOnlyTheLoopsOwnRecords) {
  EXPECT_EQ(Built(""), (std::vector<std::string>{"compute meter", "loss smoothing", "best epoch"}));
  TrainingConfig config;
  EXPECT_EQ(BuildCallbacks(config, IngredientContext())->loss.label_smoothing(), 0);
}

TEST(IngredientsTest, EachMessageTurnsOnItsCallbacksInTheRegistrysOrder) {
  EXPECT_EQ(
      Built(R"pb(
        precise_bn { batches: 4 }
        weight_average { decay: 0.999 }
        mixup { alpha: 0.4 }
        lookahead { steps: 5 }
      )pb"),
      (std::vector<std::string>{"compute meter", "mixup", "loss smoothing", "lookahead",
                                "weight average", "raw validation", "precise bn", "best epoch"}));
  // Zero is off.
  EXPECT_EQ(Built("mixup { alpha: 0 } weight_average { decay: 0 } precise_bn { batches: 0 }"),
            (std::vector<std::string>{"compute meter", "loss smoothing", "best epoch"}));
}

TEST(IngredientsTest, ARefusedSettingIsAnErrorNamingItsField) {
  absl::Status status;
  Built("precision: FLOAT16", &status);  // on the CPU
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("training.precision"), std::string::npos) << status;
  Built("loss { label_smoothing: 2 }", &status);
  EXPECT_NE(status.message().find("training.loss.label_smoothing"), std::string::npos) << status;
}

// One source of defaults: an empty TrainingConfig builds exactly the default options and loss.
TEST(IngredientsTest, EmptyConfigsBuildTheOptionStructsDefaults) {
  const Learner::Options defaults;
  const Learner::Options built = BuildLearnerOptions(TrainingConfig(), 0, torch::kCPU);
  EXPECT_EQ(built.device, defaults.device);
  EXPECT_EQ(built.channels_last, defaults.channels_last);
  EXPECT_TRUE(built.channels_last);  // as the proto documents
  EXPECT_EQ(built.seed, defaults.seed);
  EXPECT_EQ(built.checkpoint_dir, defaults.checkpoint_dir);
  EXPECT_EQ(built.distributed, defaults.distributed);
  EXPECT_EQ(BuildCallbacks(TrainingConfig(), IngredientContext())->loss.label_smoothing(),
            Loss().label_smoothing());
}

}  // namespace
}  // namespace malaria::training
