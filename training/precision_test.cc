#include "training/precision.h"

#include <ATen/autocast_mode.h>
#include <torch/torch.h>

#include <limits>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "training/ingredient.h"
#include "training/step.h"

namespace malaria::training {
namespace {

TEST(PrecisionTest, OnlyCudaMixedPrecisionAddsTheCallback) {
  TrainingConfig config;
  std::vector<std::unique_ptr<Callback>> out;
  IngredientContext cpu;
  ASSERT_TRUE(AddMixedPrecision(config, cpu, &out).ok());
  EXPECT_TRUE(out.empty());  // FLOAT32
  config.set_precision(FLOAT16);
  const absl::Status refused = AddMixedPrecision(config, cpu, &out);
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(refused.message().find("training.precision: FLOAT16 is CUDA mixed precision"),
            std::string::npos)
      << refused;
  IngredientContext cuda;
  cuda.device = torch::Device(torch::kCUDA, 0);
  ASSERT_TRUE(AddMixedPrecision(config, cuda, &out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_NE(dynamic_cast<MixedPrecision*>(out[0].get())->scaler(), nullptr);
}

// Autocast is on exactly during the forward pass, and off again after a forward pass that threw
// (OnFitEnd), or when the callback goes.
TEST(PrecisionTest, AutocastCoversTheForwardPassAndIsTornDown) {
  MixedPrecision amp(BFLOAT16);
  EXPECT_EQ(amp.scaler(), nullptr);
  StepTensors step;
  FitState state;
  state.step = &step;
  ASSERT_TRUE(amp.OnForwardBegin(state).ok());
  EXPECT_TRUE(at::autocast::is_enabled());
  step.logits = torch::zeros({2, 2}, torch::kDouble);
  ASSERT_TRUE(amp.OnForwardEnd(state).ok());
  EXPECT_FALSE(at::autocast::is_enabled());
  EXPECT_EQ(step.logits.scalar_type(), torch::kFloat);
  ASSERT_TRUE(amp.OnForwardBegin(state).ok());  // ... and the forward pass throws
  amp.OnFitEnd(state, absl::InternalError("thrown"));
  EXPECT_FALSE(at::autocast::is_enabled());
  {
    MixedPrecision dropped(BFLOAT16);
    ASSERT_TRUE(dropped.OnForwardBegin(state).ok());
  }
  EXPECT_FALSE(at::autocast::is_enabled());
}

// float16's loss scaling: the loss scaled before backward, the gradients unscaled after it, and
// a step whose gradients overflowed skipped.
TEST(PrecisionTest, Float16ScalesTheLossAndSkipsOverflowingSteps) {
  MixedPrecision amp(FLOAT16);
  const double scale = amp.scaler()->scale();
  torch::Tensor w = torch::ones({3}, torch::requires_grad());
  torch::optim::SGD sgd({w}, torch::optim::SGDOptions(0.1));
  StepTensors step;
  FitState state;
  state.step = &step;
  state.optimizer = &sgd;
  step.loss = (w * w).sum();
  ASSERT_TRUE(amp.OnBackwardBegin(state).ok());
  EXPECT_DOUBLE_EQ(step.loss.item<double>(), 3 * scale);
  step.loss.backward();
  ASSERT_TRUE(amp.OnBackwardEnd(state).ok());
  EXPECT_FALSE(state.skip_step);
  EXPECT_TRUE(torch::allclose(w.grad(), torch::full({3}, 2.0)));
  w.mutable_grad() = torch::tensor({1.0f, std::numeric_limits<float>::infinity(), 1.0f});
  ASSERT_TRUE(amp.OnBackwardEnd(state).ok());
  EXPECT_TRUE(state.skip_step);
  EXPECT_EQ(amp.scaler()->skipped_steps(), 1);
}

}  // namespace
}  // namespace malaria::training
