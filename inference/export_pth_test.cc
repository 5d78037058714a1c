// Exported models checked in PyTorch itself: for each family the zoo builds (a torchvision
// ResNet-18 with fastai's head, a Bottleneck ResNet-50 with the linear head, the speed run's
// one-channel compact network with a hidden layer and a final BatchNorm, a whitening stem without
// dropout, and a two-member ensemble) the test exports random weights with random BatchNorm
// statistics, writes the platform's eval-mode logits of a fixed input, and runs
// testdata/check_export.py under Debian's python3-torch and python3-torchvision: tools/
// malaria_torch.py must rebuild each network and give the same logits (relative 1e-4), and a
// torchvision architecture's body must load into torchvision.models.<arch>() with only fc left.
#include "inference/export_pth.h"

#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/files.h"
#include "base/test_util.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "models/classifier.h"
#include "models/pth_reader.h"
#include "models/pth_writer.h"
#include "nlohmann/json.hpp"

namespace malaria::inference {
namespace {

models::Classifier Build(const std::string& config_text, int seed) {
  models::ModelConfig config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(config_text, &config)) << config_text;
  torch::manual_seed(seed);
  absl::StatusOr<models::Classifier> model = models::BuildClassifier(config, 2);
  EXPECT_TRUE(model.ok()) << model.status();
  torch::NoGradGuard no_grad;
  // BatchNorm that is not an identity in eval mode.
  for (auto& [name, tensor] : models::StateDict(**model)) {
    if (name.find("running_mean") != std::string::npos) tensor.uniform_(-0.2, 0.2);
    if (name.find("running_var") != std::string::npos) tensor.uniform_(0.5, 1.5);
  }
  (*model)->eval();
  return *model;
}

void WriteFloats(const std::string& path, const torch::Tensor& t) {
  const torch::Tensor c = t.contiguous().to(torch::kFloat);
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(c.data_ptr<float>()), c.numel() * sizeof(float));
}

// Exports `models` as one predictor into a new folder `name`, with the logits of a fixed
// [2, 3, size, size] input; returns the folder.
std::string Export(const std::string& name, const std::vector<models::Classifier>& models,
                   int size) {
  const std::string dir = base::TestDir(name);
  std::vector<Member> members;
  torch::manual_seed(99);
  const torch::Tensor x = torch::randn({2, 3, size, size});
  WriteFloats(dir + "/input.bin", x);
  for (size_t i = 0; i < models.size(); ++i) {
    Member m;
    m.model = models[i];
    m.input.image_size = size;
    m.temperature = 0.7 + 0.1 * i;
    torch::NoGradGuard no_grad;
    WriteFloats(absl::StrCat(dir, "/logits_", i, ".bin"), m.model->forward(x));
    members.push_back(m);
  }
  Predictor predictor(members, {evaluation::EvaluationConfig::TTA_FLIPS, 0}, Decision{0, 0.45});
  ExportInfo info;
  info.classes = {"Parasitized", "Uninfected"};
  evaluation::Calibration c;
  c.set_patient_threshold(0.01);
  c.set_patient_min_cells(6);
  info.calibration = c;
  info.data_fingerprint = "abc123";
  const absl::Status s = ExportPth(predictor, info, dir + "/model.pth");
  EXPECT_TRUE(s.ok()) << s;
  return dir;
}

// Runs the PyTorch check on `dir`; its output goes to the test log.
void ExpectPyTorchAgrees(const std::string& dir) {
  const std::string srcdir = absl::StrCat(std::getenv("TEST_SRCDIR"), "/malaria");
  const std::string command = absl::StrCat(
      "/usr/bin/python3 ", srcdir, "/inference/testdata/check_export.py ", srcdir, "/tools ", dir);
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
}

TEST(ExportPthTest, TorchvisionResNet18WithFastaiHead) {
  const std::string dir = Export("resnet18", {Build("architecture: 'resnet18'", 1)}, 32);
  ExpectPyTorchAgrees(dir);
  // The JSON says what PyTorch needs.
  std::ifstream in(dir + "/model.json");
  const nlohmann::json meta = nlohmann::json::parse(in);
  EXPECT_EQ(meta["classes"], nlohmann::json({"Parasitized", "Uninfected"}));
  EXPECT_EQ(meta["networks"][0]["head"],
            nlohmann::json({"concat_pool", "flatten", "batch_norm", "dropout:0.25", "linear",
                            "relu", "batch_norm", "dropout:0.5", "linear"}));
  EXPECT_EQ(meta["networks"][0]["block"], "basic");
  EXPECT_DOUBLE_EQ(meta["networks"][0]["temperature"].get<double>(), 0.7);
  EXPECT_DOUBLE_EQ(meta["decision_threshold"].get<double>(), 0.45);
  EXPECT_EQ(meta["diagnosis_rule"]["patient_min_cells"], 6);
  EXPECT_EQ(meta["input"]["size"], 32);
  // The platform reads its own file back: the same names and values.
  absl::StatusOr<models::PthFile> file = models::ReadPthFile(dir + "/model.pth");
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->tensors.size(), models::StateDict(*Build("architecture: 'resnet18'", 1)).size());
}

TEST(ExportPthTest, BottleneckResNet50WithTheLinearHead) {
  ExpectPyTorchAgrees(Export(
      "resnet50",
      {Build("architecture: 'resnet50' head { kind: LINEAR concat_pool: false dropout: [0.2] }",
             2)},
      32));
}

TEST(ExportPthTest, TheSpeedRunsOneChannelCompactNetwork) {
  ExpectPyTorchAgrees(Export(
      "compact",
      {Build("architecture: 'resnet' input_channels: 1 shape { widths: [16, 32, 64] blocks: [1, 2, "
             "1] } stem { kernel_size: 3 stride: 2 max_pool: false } head { hidden_features: [24] "
             "bn_final: true }",
             3)},
      50));
}

TEST(ExportPthTest, AWhiteningStemWithoutDropout) {
  ExpectPyTorchAgrees(Export(
      "whiten",
      {Build("architecture: 'resnet' input_channels: 1 shape { widths: [16, 32] blocks: [1, 1] } "
             "stem { kernel_size: 3 stride: 2 max_pool: false whiten: true } head { dropout: [0, "
             "0] }",
             4)},
      40));
}

TEST(ExportPthTest, AnEnsembleKeepsEachMemberUnderItsPrefix) {
  const std::string config =
      "architecture: 'resnet' input_channels: 1 shape { widths: [8, 16] blocks: [1, 1] } stem { "
      "kernel_size: 3 stride: 2 max_pool: false }";
  const std::string dir = Export("ensemble", {Build(config, 5), Build(config, 6)}, 40);
  ExpectPyTorchAgrees(dir);
  absl::StatusOr<models::PthFile> file = models::ReadPthFile(dir + "/model.pth");
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->tensors.front().name, "members.0.body.conv1.weight");
}

// Nothing is overwritten, and a failed export leaves no file.
TEST(ExportPthTest, RefusesToOverwriteAndLeavesNothingOnError) {
  const std::string config = "architecture: 'resnet' shape { widths: [8] blocks: [1] }";
  const std::string dir = Export("refusals", {Build(config, 7)}, 32);
  const std::string before = *base::ReadFile(dir + "/model.pth");
  Member m;
  m.model = Build(config, 8);
  const Predictor predictor({m}, {});
  ExportInfo info;
  info.classes = {"Parasitized", "Uninfected"};
  const absl::Status again = ExportPth(predictor, info, dir + "/model.pth");
  EXPECT_EQ(again.code(), absl::StatusCode::kAlreadyExists) << again;
  EXPECT_EQ(*base::ReadFile(dir + "/model.pth"), before);
  EXPECT_EQ(ExportPth(predictor, info, dir + "/model.onnx").code(),
            absl::StatusCode::kInvalidArgument);
  const absl::Status unwritable = ExportPth(predictor, info, dir + "/no/such/folder/model.pth");
  EXPECT_FALSE(unwritable.ok());
  EXPECT_FALSE(base::PathExists(dir + "/no/such/folder/model.pth"));
  EXPECT_FALSE(base::PathExists(dir + "/no/such/folder/model.json"));
}

}  // namespace
}  // namespace malaria::inference
