#include "training/loss_scaler.h"

#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "gtest/gtest.h"

namespace malaria::training {
namespace {

TEST(LossScalerTest, UnscalesFiniteGradientsAndGrowsAfterTheInterval) {
  DynamicLossScaler scaler(/*initial_scale=*/8, /*growth_factor=*/2, /*backoff_factor=*/0.5,
                           /*growth_interval=*/2);
  torch::Tensor w = torch::ones({3}, torch::requires_grad());
  scaler.Scale((w * w).sum()).backward();  // d/dw = 2w, scaled by 8
  EXPECT_TRUE(torch::allclose(w.grad(), torch::full({3}, 16.0)));
  EXPECT_TRUE(scaler.UnscaleAndCheck({w}));
  EXPECT_TRUE(torch::allclose(w.grad(), torch::full({3}, 2.0)));
  EXPECT_EQ(scaler.scale(), 8);
  w.mutable_grad() = torch::ones({3});
  EXPECT_TRUE(scaler.UnscaleAndCheck({w}));
  EXPECT_EQ(scaler.scale(), 16);  // two good steps
}

TEST(LossScalerTest, OverflowSkipsTheStepAndBacksOff) {
  DynamicLossScaler scaler(1024, 2, 0.5, 100);
  torch::Tensor w = torch::ones({2}, torch::requires_grad());
  w.mutable_grad() = torch::tensor({1.0f, std::numeric_limits<float>::infinity()});
  torch::Tensor b = torch::ones({1}, torch::requires_grad());  // no gradient: ignored
  EXPECT_FALSE(scaler.UnscaleAndCheck({w, b}));
  EXPECT_EQ(scaler.scale(), 512);
  EXPECT_EQ(scaler.skipped_steps(), 1);
  w.mutable_grad() = torch::tensor({1.0f, std::nanf("")});
  EXPECT_FALSE(scaler.UnscaleAndCheck({w}));
  EXPECT_EQ(scaler.scale(), 256);
}

}  // namespace
}  // namespace malaria::training
