#include "models/resnet.h"

#include <torch/torch.h>

#include <set>
#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace malaria::models {
namespace {

int64_t CountParameters(torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

std::set<std::string> StateKeys(torch::nn::Module& m) {
  std::set<std::string> keys;
  for (const auto& p : m.named_parameters()) keys.insert(p.key());
  for (const auto& b : m.named_buffers()) keys.insert(b.key());
  return keys;
}

// Parameter counts of torchvision.models.resnetXX() (1000 classes), as torchvision reports them.
TEST(ResNetTest, ParameterCountsMatchTorchvision) {
  EXPECT_EQ(CountParameters(*MakeResNet("resnet18", 1000)), 11689512);
  EXPECT_EQ(CountParameters(*MakeResNet("resnet34", 1000)), 21797672);
  EXPECT_EQ(CountParameters(*MakeResNet("resnet50", 1000)), 25557032);
}

TEST(ResNetTest, StateDictKeysAreTorchvisionNames) {
  const std::set<std::string> keys34 = StateKeys(*MakeResNet("resnet34", 1000));
  for (const char* key :
       {"conv1.weight", "bn1.weight", "bn1.running_mean", "bn1.num_batches_tracked",
        "layer1.0.conv1.weight", "layer2.0.downsample.0.weight",
        "layer2.0.downsample.1.running_var", "layer4.2.bn2.bias", "fc.weight", "fc.bias"}) {
    EXPECT_EQ(keys34.count(key), 1u) << key;
  }
  EXPECT_EQ(keys34.count("layer1.0.downsample.0.weight"), 0u);  // shapes match in layer1
  // torchvision resnet34 state_dict has 218 entries (parameters and buffers).
  EXPECT_EQ(keys34.size(), 218u);

  const std::set<std::string> keys50 = StateKeys(*MakeResNet("resnet50", 1000));
  EXPECT_EQ(keys50.count("layer4.2.bn3.num_batches_tracked"), 1u);
  EXPECT_EQ(keys50.count("layer1.0.downsample.0.weight"), 1u);  // 64 -> 256 channels
  EXPECT_EQ(keys50.size(), 320u);
}

TEST(ResNetTest, BottleneckStrideSitsOnTheThreeByThreeConvolution) {
  ResNet net = MakeResNet("resnet50", 10);
  auto* block = net->layer2[0]->as<BottleneckImpl>();
  ASSERT_NE(block, nullptr);
  EXPECT_EQ(block->conv1->options.stride()->at(0), 1);
  EXPECT_EQ(block->conv2->options.stride()->at(0), 2);
}

TEST(ResNetTest, ShapesOfLogitsAndFeatures) {
  torch::NoGradGuard no_grad;
  ResNet net = MakeResNet("resnet18", 7);
  net->eval();
  const torch::Tensor x = torch::randn({2, 3, 64, 64});
  EXPECT_EQ(net->forward(x).sizes(), (std::vector<int64_t>{2, 7}));
  ResNet body = MakeResNet("resnet50", 0);
  body->eval();
  EXPECT_EQ(body->ForwardFeatures(x).sizes(), (std::vector<int64_t>{2, 2048, 2, 2}));
  EXPECT_EQ(body->FeatureChannels(), 2048);
  EXPECT_THROW(body->forward(x), c10::Error);
}

TEST(ResNetTest, UnknownArchitectureListsKnownOnes) {
  try {
    MakeResNet("resnet35", 2);
    FAIL() << "expected an error";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find("resnet34"), std::string::npos);
  }
}

TEST(ResNetTest, TorchvisionInitialisation) {
  ResNet net = MakeResNet("resnet18", 2);
  // Kaiming normal, fan_out, ReLU gain: std = sqrt(2 / (out_channels * k * k)).
  const torch::Tensor w = net->layer3[0]->as<BasicBlockImpl>()->conv1->weight;
  const double expected = std::sqrt(2.0 / (256 * 3 * 3));
  EXPECT_NEAR(w.std().item<double>(), expected, 0.05 * expected);
  EXPECT_TRUE(torch::equal(net->bn1->weight, torch::ones({64})));
}

// A two-stage BasicBlock ResNet of widths 8 and 16, one block each, reading one channel: its
// parameters counted by hand, its feature map, and its gray level taken from three channels.
TEST(ResNetTest, ShapedResNetHasTheGivenStagesAndReadsTheGrayLevel) {
  Stem stem;
  stem.kernel_size = 3;
  stem.stride = 1;
  stem.max_pool = false;
  stem.in_channels = 1;
  ResNet net = MakeShapedResNet({1, 1}, {8, 16}, /*num_classes=*/0, stem);
  const int64_t stem_params = 8 * 1 * 9 + 2 * 8;
  const int64_t block1 = 2 * (8 * 8 * 9 + 2 * 8);
  const int64_t block2 = 16 * 8 * 9 + 16 * 16 * 9 + 2 * 2 * 16 + (16 * 8 + 2 * 16);  // downsample
  EXPECT_EQ(CountParameters(*net), stem_params + block1 + block2);
  EXPECT_EQ(net->layer3->size(), 0u);
  EXPECT_EQ(net->layer4->size(), 0u);
  EXPECT_EQ(net->FeatureChannels(), 16);
  torch::NoGradGuard no_grad;
  net->eval();
  const torch::Tensor gray = torch::randn({2, 1, 12, 12});
  const torch::Tensor features = net->ForwardFeatures(gray);
  EXPECT_EQ(features.sizes(), (std::vector<int64_t>{2, 16, 6, 6}));
  // Three channels whose mean is the gray image.
  const torch::Tensor rgb = torch::cat({gray - 1, gray, gray + 1}, 1);
  EXPECT_TRUE(torch::allclose(net->ForwardFeatures(rgb), features, 1e-5, 1e-5));
  EXPECT_THROW(MakeShapedResNet({1}, {8, 16}, 0, stem), c10::Error);
}

// Identity initialisation: every block's last BatchNorm starts at weight 0, so a block whose
// shortcut is the identity returns relu(x) (x >= 0 after the stem's ReLU: x itself), and the
// first convolutions keep torchvision's initialisation.
TEST(ResNetTest, ZeroInitResidualMakesEveryBlockItsShortcut) {
  for (const char* architecture : {"resnet18", "resnet50"}) {
    ResNet net = MakeResNet(architecture, 0);
    ZeroInitResiduals(*net);
    int zeroed = 0;
    for (const auto& item : net->named_parameters()) {
      const bool last_bn =
          absl::StrContains(item.key(), "layer") &&
          (absl::EndsWith(item.key(), "bn2.weight") || absl::EndsWith(item.key(), "bn3.weight"));
      const bool bottleneck_bn2 =
          std::string(architecture) == "resnet50" && absl::EndsWith(item.key(), "bn2.weight");
      if (last_bn && !bottleneck_bn2) {
        EXPECT_EQ(item.value().abs().sum().item<double>(), 0.0) << item.key();
        ++zeroed;
      } else if (absl::EndsWith(item.key(), "bn1.weight")) {
        EXPECT_TRUE(torch::equal(item.value(), torch::ones_like(item.value()))) << item.key();
      }
    }
    EXPECT_EQ(zeroed, std::string(architecture) == "resnet18" ? 8 : 16) << architecture;
  }
  ResNet net = MakeShapedResNet({2}, {8}, /*num_classes=*/0);
  ZeroInitResiduals(*net);
  torch::NoGradGuard no_grad;
  net->eval();
  const torch::Tensor x = torch::rand({2, 8, 6, 6});  // >= 0, as after a ReLU
  auto* block = (*net->layer1)[1]->as<BasicBlockImpl>();
  EXPECT_TRUE(torch::allclose(block->forward(x.clone()), x));
}

}  // namespace
}  // namespace malaria::models
