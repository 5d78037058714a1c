// The data-parallel pieces a single process can check: the torchrun environment, the learner's
// synchronising callback in a group of one, and the choice of backend (two-process training is in
// distributed_test.cc).
#include <torch/torch.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "models/classifier.h"
#include "training/data_parallel.h"
#include "training/distributed.h"

namespace malaria::training {
namespace {

TEST(DistributedGroupTest, EnvironmentIsReadAndCheckedLikeTorchrun) {
  ::unsetenv("WORLD_SIZE");
  ::unsetenv("RANK");
  absl::StatusOr<DistributedEnv> env = DistributedEnvFromEnvironment();
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(env->world_size, 1);
  ::setenv("WORLD_SIZE", "2", 1);
  ::setenv("RANK", "2", 1);
  ::setenv("MASTER_ADDR", "127.0.0.1", 1);
  env = DistributedEnvFromEnvironment();
  EXPECT_FALSE(env.ok());
  EXPECT_NE(env.status().message().find("RANK=2"), std::string::npos);
  ::setenv("RANK", "one", 1);
  EXPECT_NE(DistributedEnvFromEnvironment().status().message().find("RANK"), std::string::npos);
  ::setenv("RANK", "1", 1);
  ::setenv("MASTER_PORT", "29511", 1);
  env = DistributedEnvFromEnvironment();
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(env->rank, 1);
  EXPECT_EQ(env->master_port, 29511);
  for (const char* v : {"WORLD_SIZE", "RANK", "MASTER_ADDR", "MASTER_PORT"}) ::unsetenv(v);
}

// The learner's data-parallel callback alone, in a group of one: it shares the loss and the
// interrupt flag (a sum over one process), starts from rank 0's weights, and its gradient buckets
// leave each gradient as it was (the mean over one process).
TEST(DistributedGroupTest, DistributedSyncAloneInAGroupOfOne) {
  DistributedEnv env;
  env.master_port = FreeTcpPort();
  absl::StatusOr<std::unique_ptr<Distributed>> dist =
      Distributed::Connect(env, std::chrono::seconds(30));
  ASSERT_TRUE(dist.ok()) << dist.status();
  models::ModelConfig config;
  config.set_architecture("resnet18");
  models::Classifier model = *models::BuildClassifier(config, 2);
  DistributedSync sync(dist->get(), /*sync_batchnorm=*/true, /*bucket_bytes=*/1 << 20);
  FitState state;
  state.model = model.get();
  ASSERT_TRUE(sync.OnFitBegin(state).ok());
  state.loss = 0.75;
  state.interrupt_requested = true;
  ASSERT_TRUE(sync.OnLoss(state).ok());
  EXPECT_DOUBLE_EQ(state.loss, 0.75);
  EXPECT_TRUE(state.interrupt_requested);
  model->train();
  torch::manual_seed(3);
  torch::Tensor loss = torch::nn::functional::cross_entropy(
      model->forward(torch::randn({4, 3, 32, 32})), torch::tensor({0, 1, 0, 1}, torch::kLong));
  loss.backward();
  const torch::Tensor fc = model->head[8]->as<torch::nn::Linear>()->weight.grad().clone();
  ASSERT_TRUE(sync.OnBackwardEnd(state).ok());
  EXPECT_TRUE(torch::allclose(fc, model->head[8]->as<torch::nn::Linear>()->weight.grad()));
  sync.OnFitEnd(state, absl::OkStatus());
}

// On the CPU every collective stays on Gloo; NCCL there (or in a build without it) is refused with
// a message that says why, and the group still works afterwards.
TEST(DistributedGroupTest, UseDeviceKeepsGlooOnTheCpuAndRefusesNcclThere) {
  DistributedEnv env;
  env.master_port = FreeTcpPort();
  absl::StatusOr<std::unique_ptr<Distributed>> dist =
      Distributed::Connect(env, std::chrono::seconds(30));
  ASSERT_TRUE(dist.ok()) << dist.status();
  EXPECT_TRUE((*dist)->UseDevice(torch::kCPU, Backend::kAuto).ok());
  EXPECT_TRUE((*dist)->UseDevice(torch::kCPU, Backend::kGloo).ok());
  EXPECT_EQ((*dist)->device_backend(), "gloo");
  const absl::Status on_cpu = (*dist)->UseDevice(torch::kCPU, Backend::kNccl);
  EXPECT_EQ(on_cpu.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(on_cpu.message().find("NCCL backend needs a CUDA device"), std::string::npos) << on_cpu;
  if (!NcclAvailable()) {
    const absl::Status missing = (*dist)->UseDevice(torch::Device(torch::kCUDA, 0), Backend::kNccl);
    EXPECT_EQ(missing.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(missing.message().find("not in this LibTorch build"), std::string::npos) << missing;
  }
  torch::Tensor t = torch::full({3}, 2.0);
  ASSERT_TRUE((*dist)->AllReduceSum(t, "an all-reduce after UseDevice").ok());
  EXPECT_TRUE(torch::equal(t, torch::full({3}, 2.0)));
  EXPECT_EQ((*dist)->device_backend(), "gloo");
}

}  // namespace
}  // namespace malaria::training
