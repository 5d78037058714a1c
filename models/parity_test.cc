// The model zoo against the reference implementation: torchvision (Debian's python3-torchvision)
// writes randomly initialised resnet18/34/50 state_dicts and their eval-mode logits for a fixed
// input; the C++ ResNets load those .pth files and must give the same logits.
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "base/files.h"
#include "gtest/gtest.h"
#include "models/pretrained.h"
#include "models/resnet.h"

namespace malaria::models {
namespace {

std::string RefDir() { return base::JoinPath(std::getenv("TEST_TMPDIR"), "torchvision_reference"); }

std::vector<float> ReadFloats(const std::string& path) {
  const std::string bytes = *base::ReadFile(path);
  std::vector<float> v(bytes.size() / 4);
  std::memcpy(v.data(), bytes.data(), v.size() * 4);
  return v;
}

class ParityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    at::set_num_threads(2);
    ASSERT_TRUE(base::MakeDirs(RefDir()).ok());
    const std::string script = base::JoinPath(
        std::getenv("TEST_SRCDIR"), "malaria/models/testdata/make_torchvision_reference.py");
    // Debian's python3 (not a virtual environment's) has python3-torch and python3-torchvision.
    const std::string command = "/usr/bin/python3 " + script + " " + RefDir() + " 2>&1";
    const int status = std::system(command.c_str());
    ASSERT_EQ(status, 0) << command
                         << " failed: the reference needs Debian's python3-torchvision "
                            "(tools/setup.sh installs it)";
  }

  static torch::Tensor Input() {
    return torch::from_blob(ReadFloats(RefDir() + "/input.bin").data(), {2, 3, 64, 64}).clone();
  }
};

void ExpectParity(const std::string& arch) {
  ResNet net = MakeResNet(arch, 1000);
  const absl::Status loaded = LoadTorchvisionWeights(RefDir() + "/" + arch + ".pth", *net);
  ASSERT_TRUE(loaded.ok()) << loaded;
  net->eval();
  torch::NoGradGuard no_grad;
  std::vector<float> input = ReadFloats(RefDir() + "/input.bin");
  const torch::Tensor x = torch::from_blob(input.data(), {2, 3, 64, 64});
  const torch::Tensor ours = net->forward(x);
  std::vector<float> expected = ReadFloats(RefDir() + "/" + arch + "_logits.bin");
  const torch::Tensor ref = torch::from_blob(expected.data(), {2, 1000});
  const double relative = (ours - ref).abs().max().item<double>() / ref.abs().max().item<double>();
  EXPECT_LT(relative, 1e-4) << arch
                            << ": max |ours - torchvision| / max |torchvision| = " << relative;
  // The BatchNorm counters came along too.
  EXPECT_EQ(net->bn1->num_batches_tracked.item<int64_t>(), 7);
}

TEST_F(ParityTest, ResNet18MatchesTorchvision) { ExpectParity("resnet18"); }
TEST_F(ParityTest, ResNet34MatchesTorchvision) { ExpectParity("resnet34"); }
TEST_F(ParityTest, ResNet50MatchesTorchvision) { ExpectParity("resnet50"); }

TEST_F(ParityTest, ABodyDropsTheClassifier) {
  ResNet body = MakeResNet("resnet34", 0);
  const absl::Status loaded = LoadTorchvisionWeights(RefDir() + "/resnet34.pth", *body);
  ASSERT_TRUE(loaded.ok()) << loaded;
  ResNet full = MakeResNet("resnet34", 1000);
  ASSERT_TRUE(LoadTorchvisionWeights(RefDir() + "/resnet34.pth", *full).ok());
  EXPECT_TRUE(torch::equal(body->layer4[2]->as<BasicBlockImpl>()->conv2->weight,
                           full->layer4[2]->as<BasicBlockImpl>()->conv2->weight));
}

TEST_F(ParityTest, StrictLoadingListsEveryMismatch) {
  ResNet resnet34 = MakeResNet("resnet34", 1000);
  const torch::Tensor before = resnet34->conv1->weight.clone();
  absl::Status s = LoadTorchvisionWeights(RefDir() + "/resnet18.pth", *resnet34);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("missing key(s): "), std::string::npos) << s;
  EXPECT_NE(s.message().find("layer1.2.conv1.weight"), std::string::npos) << s;
  EXPECT_NE(s.message().find("resnet18.pth"), std::string::npos) << s;
  // Nothing was copied.
  EXPECT_TRUE(torch::equal(before, resnet34->conv1->weight));

  s = LoadTorchvisionWeights(RefDir() + "/resnet50.pth", *resnet34);
  EXPECT_NE(s.message().find("unexpected key(s): "), std::string::npos) << s;
  EXPECT_NE(s.message().find("layer1.0.conv3.weight"), std::string::npos) << s;
  EXPECT_NE(s.message().find("shape mismatch(es): "), std::string::npos) << s;
  EXPECT_NE(s.message().find("layer1.0.conv1.weight: file [64, 64, 1, 1], model [64, 64, 3, 3]"),
            std::string::npos)
      << s;
}

}  // namespace
}  // namespace malaria::models
