#include "models/model_size.h"

#include <torch/torch.h>

#include <string>

#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "models/classifier.h"

namespace malaria::models {
namespace {

ModelConfig Config(const std::string& text) {
  ModelConfig config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &config));
  return config;
}

// The count is exactly the model's: every architecture, stem, head and shape the zoo builds.
TEST(ModelSizeTest, ParametersAndFeatureMapAreTheBuiltModels) {
  torch::NoGradGuard no_grad;
  for (const char* text :
       {"architecture: 'resnet18'", "architecture: 'resnet34' head { concat_pool: false }",
        "architecture: 'resnet50' head { hidden_features: [256, 64] dropout: [0.1, 0.2, 0.3] "
        "bn_final: true }",
        "architecture: 'resnet101' head { kind: LINEAR }",
        "architecture: 'resnet152' stem { kernel_size: 3 stride: 1 max_pool: false }",
        "architecture: 'resnet' input_channels: 1 shape { widths: [32, 64, 128] blocks: [1, 2, "
        "2] } stem { kernel_size: 3 stride: 1 max_pool: false } head { kind: LINEAR }",
        "architecture: 'resnet' input_channels: 1 shape { widths: [24, 48] blocks: [2, 1] } stem { "
        "kernel_size: 3 stride: 2 max_pool: false whiten: true }",
        "architecture: 'resnet' shape { widths: [16, 16, 32, 64] blocks: [1, 1, 1, 3] } "
        "batch_norm_scale: false"}) {
    SCOPED_TRACE(text);
    const ModelConfig config = Config(text);
    absl::StatusOr<Classifier> model = BuildClassifier(config, 3);
    ASSERT_TRUE(model.ok()) << model.status();
    int64_t parameters = 0;
    for (const torch::Tensor& p : (*model)->parameters()) parameters += p.numel();
    for (int size : {32, 50, 64}) {
      const ModelSize estimate = EstimateModelSize(config, size, 3);
      EXPECT_EQ(estimate.parameters, parameters);
      (*model)->eval();
      const torch::Tensor features =
          (*model)->body->ForwardFeatures(torch::zeros({1, config.input_channels(), size, size}));
      EXPECT_EQ(estimate.feature_side, features.size(2)) << size;
    }
  }
}

// The convolutions' outputs of a small network, counted by hand: a 3x3 stride-2 stem of 8
// channels on 32 px (16 x 16), a block of two 8-channel convolutions (16 x 16), a stride-2 block
// of two 16-channel convolutions and its 1x1 downsample (8 x 8).
TEST(ModelSizeTest, ConvOutputsInClosedForm) {
  const ModelConfig config = Config(
      "architecture: 'resnet' input_channels: 1 shape { widths: [8, 16] blocks: [1, 1] } "
      "stem { kernel_size: 3 stride: 2 max_pool: false }");
  const ModelSize size = EstimateModelSize(config, 32);
  EXPECT_EQ(size.conv_outputs_per_image, 8 * 16 * 16 + 2 * 8 * 16 * 16 + 3 * 16 * 8 * 8);
  EXPECT_EQ(size.feature_side, 8);
  EXPECT_DOUBLE_EQ(TrainingBytes(size, 10), 16 * size.parameters + 80 * 9216.0);
}

}  // namespace
}  // namespace malaria::models
