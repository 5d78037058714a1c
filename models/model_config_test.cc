#include "models/model_config.h"

#include <string>

#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace malaria::models {
namespace {

ModelConfig Parse(const std::string& text) {
  ModelConfig config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &config)) << text;
  return config;
}

std::string Problems(const ModelConfig& config) {
  base::ConfigProblems problems;
  ValidateModelConfig(config, problems.In("model"));
  return std::string(problems.ToStatus().message());
}

TEST(ModelConfigTest, HeadDefaultsAreFastaisCreateHead) {
  ModelConfig config;
  FillModelDefaults(&config);
  ASSERT_EQ(config.head().hidden_features_size(), 1);
  EXPECT_EQ(config.head().hidden_features(0), 512);
  ASSERT_EQ(config.head().dropout_size(), 2);
  EXPECT_FLOAT_EQ(config.head().dropout(0), 0.25f);
  EXPECT_FLOAT_EQ(config.head().dropout(1), 0.5f);
  // Two hidden layers: ps/2 before each, ps before the last linear layer.
  HeadConfig two = Parse("head { hidden_features: [256, 64] }").head();
  FillHeadDefaults(&two);
  EXPECT_EQ(two.dropout_size(), 3);
  EXPECT_FLOAT_EQ(two.dropout(2), 0.5f);
}

TEST(ModelConfigTest, ValidationNamesEveryBrokenField) {
  EXPECT_EQ(Problems(Parse("architecture: 'resnet50'")), "");
  const std::string problems = Problems(
      Parse("architecture: 'vgg16' head { hidden_features: [0] dropout: [0.1, 1.5, 0.2] }"));
  for (const char* expected : {
           "model.architecture: unknown architecture 'vgg16'; known: resnet18",
           "model.head.hidden_features[0]: must be > 0, got 0",
           "model.head.dropout: needs one value per linear layer (2), got 3",
           "model.head.dropout[1]: must be in [0, 1), got 1.5",
       }) {
    EXPECT_NE(problems.find(expected), std::string::npos) << expected << "\n" << problems;
  }
}

TEST(ModelConfigTest, ShapedResNetFieldsAreChecked) {
  EXPECT_EQ(Problems(Parse("architecture: 'resnet' shape { widths: [32, 64] blocks: [1, 2] } "
                           "input_channels: 1")),
            "");
  const std::string problems =
      Problems(Parse("architecture: 'resnet' shape { widths: [32, 0] blocks: [1] } "
                     "input_channels: 2 pretrained_weights: 'x.pth'"));
  for (const char* expected : {
           "model.shape.blocks: needs one count per stage (2), got 1",
           "model.shape.widths[1]: must be in [1, 4096], got 0",
           "model.input_channels: must be 1 or 3, got 2",
           "model.pretrained_weights: architecture \"resnet\" has no published weights",
       }) {
    EXPECT_NE(problems.find(expected), std::string::npos) << expected << "\n" << problems;
  }
  EXPECT_NE(Problems(Parse("architecture: 'resnet'")).find("model.shape.widths: architecture"),
            std::string::npos);
  EXPECT_NE(Problems(Parse("architecture: 'resnet18' shape { widths: 8 blocks: 1 }"))
                .find("model.shape: is for architecture \"resnet\" only"),
            std::string::npos);
}

TEST(ModelConfigTest, WhiteningAndBatchNormScaleFieldsAreChecked) {
  EXPECT_EQ(Problems(Parse("architecture: 'resnet' shape { widths: [32] blocks: [1] } "
                           "stem { kernel_size: 3 whiten: true } batch_norm_scale: false")),
            "");
  const std::string problems = Problems(
      Parse("stem { whiten: true whiten_images: 10 whiten_eps: 0 } "
            "zero_init_residual: true batch_norm_scale: false pretrained_weights: 'x.pth'"));
  for (const char* expected : {
           "model.stem.whiten_images: must be in [64, 1000000], got 10",
           "model.stem.whiten_eps: must be > 0, got 0",
           "model.zero_init_residual: needs batch_norm_scale",
           "model.pretrained_weights: torchvision's weights need torchvision's stem",
       }) {
    EXPECT_NE(problems.find(expected), std::string::npos) << expected << "\n" << problems;
  }
}

}  // namespace
}  // namespace malaria::models
