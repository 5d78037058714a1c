#include "models/sync_batch_norm.h"

#include <torch/torch.h>

#include <memory>

#include "gtest/gtest.h"

namespace malaria::models {
namespace {

// One process: the sum over processes is the tensor itself. Counts its calls.
class Identity : public StatsReducer {
 public:
  torch::Tensor AllReduceSum(const torch::Tensor& t) override {
    ++calls;
    return t;
  }
  int calls = 0;
};

TEST(SyncBatchNormTest, WithOneProcessMatchesTorchBatchNormForwardBackwardAndRunningStats) {
  torch::manual_seed(3);
  SyncBatchNorm sync(5);
  torch::nn::BatchNorm2d plain(5);
  {
    torch::NoGradGuard no_grad;
    sync->weight.uniform_(0.5, 1.5);
    sync->bias.uniform_(-1, 1);
    plain->weight.copy_(sync->weight);
    plain->bias.copy_(sync->bias);
  }
  auto reducer = std::make_shared<Identity>();
  SetStatsReducer(*sync, reducer);
  const torch::Tensor x = (torch::randn({6, 5, 7, 3}) * 3 + 2).set_requires_grad(true);
  const torch::Tensor x2 = x.detach().clone().set_requires_grad(true);
  const torch::Tensor w = torch::randn({6, 5, 7, 3});
  (sync->forward(x) * w).sum().backward();
  (plain->forward(x2) * w).sum().backward();
  EXPECT_EQ(reducer->calls, 1);
  EXPECT_TRUE(torch::allclose(x.grad(), x2.grad(), 1e-4, 1e-5));
  EXPECT_TRUE(torch::allclose(sync->weight.grad(), plain->weight.grad(), 1e-4, 1e-4));
  EXPECT_TRUE(torch::allclose(sync->bias.grad(), plain->bias.grad(), 1e-4, 1e-4));
  EXPECT_TRUE(torch::allclose(sync->running_mean, plain->running_mean, 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(sync->running_var, plain->running_var, 1e-5, 1e-6));
  EXPECT_EQ(sync->num_batches_tracked.item<int64_t>(), 1);

  // Eval mode uses the running statistics and no reducer.
  sync->eval();
  plain->eval();
  EXPECT_TRUE(torch::allclose(sync->forward(x.detach()), plain->forward(x.detach()), 1e-4, 1e-5));
  EXPECT_EQ(reducer->calls, 1);
  // Without a reducer it is torch's BatchNorm itself, bit for bit.
  SetStatsReducer(*sync, nullptr);
  sync->train();
  plain->train();
  {
    torch::NoGradGuard no_grad;
    sync->running_mean.copy_(plain->running_mean);
    sync->running_var.copy_(plain->running_var);
  }
  EXPECT_TRUE(torch::equal(sync->forward(x.detach()), plain->forward(x.detach())));
  EXPECT_TRUE(torch::equal(sync->running_var, plain->running_var));
}

TEST(SyncBatchNormTest, TwoProcessesSeeTheStatisticsOfTheirCombinedBatch) {
  // Simulates rank 0 of two: the reducer adds the other process's statistics, as a c10d all-reduce
  // would; the result must be the normalisation of the two batches together.
  torch::manual_seed(4);
  const torch::Tensor a = torch::randn({4, 3}) * 2, b = torch::randn({4, 3}) + 1;
  class AddOther : public StatsReducer {
   public:
    explicit AddOther(torch::Tensor other) : other_(std::move(other)) {}
    torch::Tensor AllReduceSum(const torch::Tensor& t) override { return t + other_; }

   private:
    torch::Tensor other_;
  };
  const torch::Tensor stats_b = torch::cat({b.sum(0), (b * b).sum(0), torch::full({1}, 4.0)});
  SyncBatchNorm sync(3);
  SetStatsReducer(*sync, std::make_shared<AddOther>(stats_b));
  torch::nn::BatchNorm1d plain(3);
  const torch::Tensor together = plain->forward(torch::cat({a, b}));
  EXPECT_TRUE(torch::allclose(sync->forward(a), together.narrow(0, 0, 4), 1e-4, 1e-5));
  EXPECT_TRUE(torch::allclose(sync->running_var, plain->running_var, 1e-5, 1e-6));
}

}  // namespace
}  // namespace malaria::models
