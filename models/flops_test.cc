#include "models/flops.h"

#include <torch/torch.h>

#include "gtest/gtest.h"
#include "models/classifier.h"
#include "models/resnet.h"

namespace malaria::models {
namespace {

namespace nn = torch::nn;

// A known network, counted by hand: conv 1->4 (3x3, padding 1) on 8x8, conv 4->8 (3x3, stride 2,
// padding 1, groups 2) to 4x4, flatten, linear 128->2.
TEST(FlopsTest, SmallNetworkMatchesTheClosedForm) {
  nn::Sequential net(nn::Conv2d(nn::Conv2dOptions(1, 4, 3).padding(1)), nn::ReLU(),
                     nn::Conv2d(nn::Conv2dOptions(4, 8, 3).stride(2).padding(1).groups(2)),
                     nn::Flatten(), nn::Linear(128, 2));
  torch::NoGradGuard no_grad;
  const torch::Tensor x = torch::zeros({3, 1, 8, 8});
  const int64_t conv1 = 2 * (8 * 8 * 4) * (1 * 9);
  const int64_t conv2 = 2 * (4 * 4 * 8) * (2 * 9);
  const int64_t linear = 2 * 128 * 2;
  EXPECT_EQ(CountFlops([&] { net->forward(x); }), 3 * (conv1 + conv2 + linear));
  EXPECT_EQ(CountFlops([] {}), 0);
}

TEST(FlopsTest, MatrixProductsAndNestedCounts) {
  const torch::Tensor a = torch::ones({5, 7}), b = torch::ones({7, 3});
  const torch::Tensor c = torch::ones({2, 5, 7}), d = torch::ones({2, 7, 3});
  int64_t inner = 0;
  const int64_t outer = CountFlops([&] {
    torch::mm(a, b);
    inner = CountFlops([&] { torch::bmm(c, d); });
  });
  EXPECT_EQ(inner, 2 * 2 * 5 * 7 * 3);
  EXPECT_EQ(outer, 2 * 5 * 7 * 3 + inner);
}

// torchvision documents resnet18 at 224 px as 1.81 GFLOPS counting multiply-adds (1.814 G with
// fvcore): 3.63 GFLOP here, the final fc included.
TEST(FlopsTest, Resnet18At224MatchesTorchvisionsFigure) {
  ResNet net = MakeResNet("resnet18", 1000);
  net->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor x = torch::zeros({1, 3, 224, 224});
  const double gflop = CountFlops([&] { net->forward(x); }) / 1e9;
  EXPECT_NEAR(gflop, 2 * 1.814, 0.01);
}

TEST(FlopsTest, ForwardFlopsPerImageRestoresTheModelAndCountsOneChannelStems) {
  ModelConfig config;
  config.set_architecture("resnet");
  config.mutable_shape()->add_widths(8);
  config.mutable_shape()->add_blocks(1);
  config.mutable_head()->set_kind(HeadConfig::LINEAR);
  config.mutable_head()->set_concat_pool(false);
  config.mutable_stem()->set_kernel_size(3);
  config.mutable_stem()->set_stride(1);
  config.mutable_stem()->set_max_pool(false);
  absl::StatusOr<Classifier> rgb = BuildClassifier(config, 2);
  ASSERT_TRUE(rgb.ok()) << rgb.status();
  config.set_input_channels(1);
  absl::StatusOr<Classifier> gray = BuildClassifier(config, 2);
  ASSERT_TRUE(gray.ok()) << gray.status();
  (*rgb)->train();
  const torch::Tensor mean = (*rgb)->body->bn1->running_mean.clone();
  // 10x10 image: stem 3->8 3x3, one block of two 8->8 3x3 convs, linear 8->2.
  const int64_t block = 2 * 2 * (10 * 10 * 8) * (8 * 9);
  const int64_t head = 2 * 8 * 2;
  EXPECT_EQ(ForwardFlopsPerImage(**rgb, {3, 10, 10}), 2 * (10 * 10 * 8) * (3 * 9) + block + head);
  EXPECT_EQ(ForwardFlopsPerImage(**gray, {3, 10, 10}), 2 * (10 * 10 * 8) * (1 * 9) + block + head);
  EXPECT_TRUE((*rgb)->is_training());
  EXPECT_TRUE(torch::equal((*rgb)->body->bn1->running_mean, mean));
}

}  // namespace
}  // namespace malaria::models
