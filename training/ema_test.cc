#include "training/ema.h"

#include <torch/torch.h>

#include "gtest/gtest.h"
#include "training/learner.h"

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
// model's weights when a stage starts; the average is the learner's validated model during the
// stage and handed on to the model when the stage completes.
TEST(EmaTest, TheAverageFollowsTheClosedFormAndIsHandedOn) {
  models::Classifier model = Model(1);
  Learner::Options options;
  options.channels_last = false;
  Learner learner(model, nullptr, nullptr, options);
  WeightAverage ema(0.5);
  FitState state;
  state.learner = &learner;
  ASSERT_TRUE(ema.OnFitBegin(state).ok());
  models::Classifier average = ema.average();
  ASSERT_FALSE(average.is_empty());
  EXPECT_EQ(learner.validated_model().get(), average.get());
  torch::Tensor& w = model->head[8]->as<torch::nn::Linear>()->weight;
  const torch::Tensor& a = average->head[8]->as<torch::nn::Linear>()->weight;
  EXPECT_TRUE(torch::equal(a, w));
  EXPECT_NE(a.data_ptr(), w.data_ptr());
  torch::Tensor expected = w.detach().clone();
  for (int t = 0; t < 3; ++t) {
    {
      torch::NoGradGuard no_grad;
      w.add_(1.0);  // an "optimiser step"
      model->body->bn1->num_batches_tracked.add_(1);
    }
    state.iteration = t;
    ASSERT_TRUE(ema.OnBatchEnd(state).ok());
    const double d = WeightAverage::DecayAt(0.5, t);
    expected = expected * d + w.detach() * (1 - d);
  }
  EXPECT_TRUE(torch::allclose(a, expected, 1e-6, 1e-6));
  // BatchNorm's integer batch count is copied, not averaged.
  EXPECT_EQ(average->body->bn1->num_batches_tracked.item<int64_t>(), 3);
  // A stage that fails keeps the raw weights; one that completes hands the average on.
  const torch::Tensor raw = w.detach().clone();
  ema.OnFitEnd(state, absl::CancelledError("interrupted"));
  EXPECT_TRUE(torch::equal(w, raw));
  EXPECT_EQ(learner.validated_model().get(), model.get());
  ASSERT_TRUE(ema.OnFitBegin(state).ok());
  ema.OnFitEnd(state, absl::OkStatus());
  EXPECT_TRUE(torch::equal(w, raw));  // the new stage's average started from the model
  EXPECT_EQ(learner.validated_model().get(), model.get());
}

// Parameters that do not train (a frozen body, the whitening stem's filters, BatchNorm weights
// fixed at 1) are left as the stage began: averaging a constant with itself would let float
// rounding move it.
TEST(EmaTest, FixedParametersAreNotAveraged) {
  models::Classifier model = Model(1);
  Learner::Options options;
  options.channels_last = false;
  Learner learner(model, nullptr, nullptr, options);
  torch::Tensor& fixed = model->body->conv1->weight;
  fixed.requires_grad_(false);
  WeightAverage ema(0.998);
  FitState state;
  state.learner = &learner;
  ASSERT_TRUE(ema.OnFitBegin(state).ok());
  for (int t = 0; t < 50; ++t) {
    state.iteration = t;
    ASSERT_TRUE(ema.OnBatchEnd(state).ok());
  }
  EXPECT_TRUE(torch::equal(ema.average()->body->conv1->weight, fixed));
}

// The learning-rate finder's sweep does not touch the average.
TEST(EmaTest, TheFinderLeavesTheAverageAlone) {
  models::Classifier model = Model(1);
  Learner learner(model, nullptr, nullptr, Learner::Options());
  WeightAverage ema(0.5);
  FitState state;
  state.learner = &learner;
  state.finder = true;
  ASSERT_TRUE(ema.OnFitBegin(state).ok());
  EXPECT_TRUE(ema.average().is_empty());
  EXPECT_EQ(learner.validated_model().get(), model.get());
}

}  // namespace
}  // namespace malaria::training
