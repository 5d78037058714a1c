#include "training/lookahead.h"

#include <torch/torch.h>

#include "gtest/gtest.h"
#include "training/ingredient.h"

namespace malaria::training {
namespace {

// One weight, w = 0 at the start; the "optimizer" adds 1 per step. With steps 2 and alpha 0.5:
// after step 2 the fast weight is 2, the slow one moves to 0 + 0.5 * (2 - 0) = 1 and the fast one
// takes it; after step 4 (fast 3): slow 1 + 0.5 * (3 - 1) = 2. A skipped step does not count.
TEST(LookaheadTest, SlowWeightsFollowTheClosedForm) {
  torch::nn::Linear linear(1, 1);
  torch::NoGradGuard no_grad;
  linear->weight.fill_(0);
  linear->bias.set_requires_grad(false);  // frozen weights are left alone
  linear->bias.fill_(7);
  Lookahead lookahead(/*steps=*/2, /*alpha=*/0.5);
  FitState state;
  state.model = linear.get();
  ASSERT_TRUE(lookahead.OnFitBegin(state).ok());
  const double expected[] = {1, 1, 2, 2};
  for (int step = 0; step < 4; ++step) {
    linear->weight.add_(1);
    ASSERT_TRUE(lookahead.OnBatchEnd(state).ok());
    EXPECT_DOUBLE_EQ(linear->weight.item<double>(), expected[step]) << "step " << step + 1;
    if (step == 1) {  // a batch the optimizer skipped: nothing moves, nothing counts
      state.skip_step = true;
      ASSERT_TRUE(lookahead.OnBatchEnd(state).ok());
      state.skip_step = false;
      EXPECT_DOUBLE_EQ(linear->weight.item<double>(), 1);
    }
  }
  EXPECT_DOUBLE_EQ(linear->bias.item<double>(), 7);
}

TEST(LookaheadTest, TheFinderIsLeftAloneAndBadSettingsNameTheirField) {
  torch::nn::Linear linear(1, 1);
  Lookahead lookahead(1, 0.5);
  FitState state;
  state.model = linear.get();
  state.finder = true;
  ASSERT_TRUE(lookahead.OnFitBegin(state).ok());
  const torch::Tensor before = linear->weight.clone();
  {
    torch::NoGradGuard no_grad;
    linear->weight.add_(1);
  }
  ASSERT_TRUE(lookahead.OnBatchEnd(state).ok());
  EXPECT_TRUE(torch::equal(linear->weight, before + 1));

  std::vector<std::unique_ptr<Callback>> out;
  TrainingConfig config;
  EXPECT_TRUE(AddLookahead(config, IngredientContext(), &out).ok());
  EXPECT_TRUE(out.empty());  // steps 0: off
  config.mutable_lookahead()->set_steps(5);
  config.mutable_lookahead()->set_alpha(1.5);
  const absl::Status s = AddLookahead(config, IngredientContext(), &out);
  EXPECT_NE(s.message().find("training.lookahead.alpha"), std::string::npos) << s;
  config.mutable_lookahead()->set_alpha(0.5);
  EXPECT_TRUE(AddLookahead(config, IngredientContext(), &out).ok());
  EXPECT_EQ(out.size(), 1u);
}

}  // namespace
}  // namespace malaria::training
