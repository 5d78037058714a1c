#include "training/ema.h"

#include <torch/torch.h>

#include "gtest/gtest.h"

namespace malaria::training {
namespace {

models::Classifier Model(int seed) {
  torch::manual_seed(seed);
  models::ModelConfig config;
  config.set_architecture("resnet18");
  return *models::BuildClassifier(config, 2);
}

TEST(EmaTest, TheDecayWarmsUpThenHoldsAtItsValue) {
  EXPECT_DOUBLE_EQ(WeightAverage::DecayAt(0.999, 0), 0.1);
  EXPECT_DOUBLE_EQ(WeightAverage::DecayAt(0.999, 10), 11.0 / 20.0);
  EXPECT_DOUBLE_EQ(WeightAverage::DecayAt(0.999, 100000), 0.999);
}

// Three updates against the closed form: a_t = d_t a_{t-1} + (1 - d_t) w_t, starting from the
// model's weights when a stage starts.
TEST(EmaTest, TheAverageFollowsTheClosedForm) {
  models::Classifier model = Model(1), average = Model(2);
  WeightAverage ema(model, average, 0.5);
  FitState state;
  ASSERT_TRUE(ema.OnFitBegin(state).ok());
  torch::Tensor& w = model->head[8]->as<torch::nn::Linear>()->weight;
  const torch::Tensor& a = average->head[8]->as<torch::nn::Linear>()->weight;
  EXPECT_TRUE(torch::equal(a, w));
  torch::Tensor expected = w.detach().clone();
  for (int t = 0; t < 3; ++t) {
    {
      torch::NoGradGuard no_grad;
      w.add_(1.0);  // an "optimiser step"
    }
    state.iteration = t;
    ASSERT_TRUE(ema.OnBatchEnd(state).ok());
    const double d = WeightAverage::DecayAt(0.5, t);
    expected = expected * d + w.detach() * (1 - d);
  }
  EXPECT_TRUE(torch::allclose(a, expected, 1e-6, 1e-6));
  // BatchNorm's integer batch count is copied, not averaged.
  EXPECT_EQ(average->body->bn1->num_batches_tracked.item<int64_t>(),
            model->body->bn1->num_batches_tracked.item<int64_t>());
  // A resumed stage keeps the average it had.
  const torch::Tensor kept = a.clone();
  state.progress.epochs_completed = 2;
  ASSERT_TRUE(ema.OnFitBegin(state).ok());
  EXPECT_TRUE(torch::equal(a, kept));
}

}  // namespace
}  // namespace malaria::training
