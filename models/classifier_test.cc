#include "models/classifier.h"

#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace malaria::models {
namespace {

ModelConfig Config(const std::string& text) {
  ModelConfig config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &config));
  return config;
}

TEST(ClassifierTest, DefaultHeadIsFastaiCreateHead) {
  absl::StatusOr<Classifier> model = BuildClassifier(Config("architecture: 'resnet34'"), 2);
  ASSERT_TRUE(model.ok()) << model.status();
  auto head = (*model)->head;
  // pool, flatten, bn(1024), dropout(.25), linear(1024,512), relu, bn(512), dropout(.5),
  // linear(512,2)
  ASSERT_EQ(head->size(), 9u);
  EXPECT_NE(head[0]->as<AdaptiveConcatPool2dImpl>(), nullptr);
  EXPECT_EQ(head[2]->as<SyncBatchNorm>()->num_features, 1024);
  EXPECT_DOUBLE_EQ(head[3]->as<torch::nn::Dropout>()->options.p(), 0.25);
  EXPECT_EQ(head[4]->as<torch::nn::Linear>()->options.out_features(), 512);
  EXPECT_NE(head[5]->as<torch::nn::ReLU>(), nullptr);
  EXPECT_DOUBLE_EQ(head[7]->as<torch::nn::Dropout>()->options.p(), 0.5);
  EXPECT_EQ(head[8]->as<torch::nn::Linear>()->options.out_features(), 2);
  EXPECT_TRUE(torch::equal(head[8]->as<torch::nn::Linear>()->bias, torch::zeros({2})));
}

TEST(ClassifierTest, ConcatPoolIsMaxThenAverage) {
  AdaptiveConcatPool2d pool;
  const torch::Tensor x = torch::arange(8, torch::kFloat).reshape({1, 2, 2, 2});
  const torch::Tensor y = pool->forward(x).flatten();
  EXPECT_TRUE(torch::allclose(y, torch::tensor({3.0f, 7.0f, 1.5f, 5.5f})));
}

TEST(ClassifierTest, ConfigurableHeadAndResNet50Features) {
  absl::StatusOr<Classifier> model = BuildClassifier(
      Config("architecture: 'resnet50' head { hidden_features: [256, 64] dropout: [0.1, 0.2, 0.3] "
             "concat_pool: false }"),
      3);
  ASSERT_TRUE(model.ok()) << model.status();
  auto head = (*model)->head;
  EXPECT_EQ(head[2]->as<SyncBatchNorm>()->num_features, 2048);
  torch::NoGradGuard no_grad;
  (*model)->eval();
  EXPECT_EQ((*model)->forward(torch::randn({2, 3, 32, 32})).sizes(), (std::vector<int64_t>{2, 3}));
}

TEST(ClassifierTest, BadConfigsAreInvalidArgumentNamingTheField) {
  absl::StatusOr<Classifier> m = BuildClassifier(Config("architecture: 'vgg16'"), 2);
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(m.status().message().find("model.architecture"), std::string::npos);
  EXPECT_NE(m.status().message().find("resnet152"), std::string::npos);
  m = BuildClassifier(Config("head { dropout: [0.5] }"), 2);
  EXPECT_NE(m.status().message().find("model.head.dropout"), std::string::npos);
}

TEST(ClassifierTest, ParameterNamesNestBodyAndHead) {
  Classifier model = *BuildClassifier(Config("architecture: 'resnet18'"), 2);
  std::map<std::string, torch::Tensor> named;
  for (const auto& p : model->named_parameters()) named[p.key()] = p.value();
  EXPECT_EQ(named.count("body.layer1.0.conv1.weight"), 1u);
  EXPECT_EQ(named.count("body.fc.weight"), 0u);
  EXPECT_EQ(named.count("head.4.weight"), 1u);
}

TEST(ClassifierTest, FreezeKeepsBatchNormTrainableLikeFastai) {
  Classifier model = *BuildClassifier(Config("architecture: 'resnet18'"), 2);
  model->FreezeTo(-1, /*train_bn=*/true);
  EXPECT_FALSE(model->body->conv1->weight.requires_grad());
  EXPECT_FALSE(model->body->layer4[1]->as<BasicBlockImpl>()->conv2->weight.requires_grad());
  EXPECT_TRUE(model->body->bn1->weight.requires_grad());
  EXPECT_TRUE(model->body->layer3[0]
                  ->as<BasicBlockImpl>()
                  ->downsample[1]
                  ->as<SyncBatchNorm>()
                  ->bias.requires_grad());
  for (const auto& p : model->head->parameters()) EXPECT_TRUE(p.requires_grad());

  model->FreezeTo(-1, /*train_bn=*/false);
  EXPECT_FALSE(model->body->bn1->weight.requires_grad());

  model->FreezeTo(1, /*train_bn=*/false);  // group 0 frozen, layer3/layer4 train
  EXPECT_FALSE(model->body->layer2[0]->as<BasicBlockImpl>()->conv1->weight.requires_grad());
  EXPECT_TRUE(model->body->layer3[0]->as<BasicBlockImpl>()->conv1->weight.requires_grad());

  model->FreezeTo(0, true);  // unfreeze
  for (const auto& p : model->parameters()) EXPECT_TRUE(p.requires_grad());
  EXPECT_THROW(model->FreezeTo(4, true), c10::Error);
}

TEST(ClassifierTest, LayerGroupsCoverEveryParameterOnce) {
  Classifier model = *BuildClassifier(Config("architecture: 'resnet34'"), 2);
  int64_t in_groups = 0;
  for (const auto& group : model->LayerGroups()) {
    for (const auto& m : group) {
      for (const auto& p : m->parameters()) in_groups += p.numel();
    }
  }
  int64_t total = 0;
  for (const auto& p : model->parameters()) total += p.numel();
  EXPECT_EQ(in_groups, total);
}

// A small-input stem keeps resolution: 50 px cells reach layer4 as 4 x 4 with a 3x3 stride-2 stem
// and no max-pool (2 x 2 with torchvision's), and layer groups still cover every parameter.
TEST(ClassifierTest, SmallInputStemAndLinearHead) {
  Classifier small = *BuildClassifier(
      Config("architecture: 'resnet18' stem { kernel_size: 3 stride: 2 max_pool: false } "
             "head { kind: LINEAR dropout: [0.2] concat_pool: false }"),
      2);
  Classifier standard = *BuildClassifier(Config("architecture: 'resnet18'"), 2);
  small->eval();
  standard->eval();
  const torch::Tensor x = torch::randn({2, 3, 50, 50});
  EXPECT_EQ(small->body->ForwardFeatures(x).sizes(), torch::IntArrayRef({2, 512, 4, 4}));
  EXPECT_EQ(standard->body->ForwardFeatures(x).sizes(), torch::IntArrayRef({2, 512, 2, 2}));
  EXPECT_EQ(small->body->conv1->weight.sizes(), torch::IntArrayRef({64, 3, 3, 3}));
  EXPECT_TRUE(small->body->maxpool.is_empty());
  EXPECT_EQ(small->forward(x).sizes(), torch::IntArrayRef({2, 2}));
  // The LINEAR head: pool, flatten, dropout, Linear(512, 2) and no BatchNorm.
  ASSERT_EQ(small->head->size(), 4u);
  EXPECT_NE(small->head[3]->as<torch::nn::Linear>(), nullptr);
  for (const auto& m : small->head->modules(false)) EXPECT_FALSE(IsBatchNorm(*m));
  int64_t grouped = 0;
  for (const auto& group : small->LayerGroups()) {
    for (const auto& top : group) grouped += top->parameters().size();
  }
  EXPECT_EQ(grouped, static_cast<int64_t>(small->parameters().size()));
  // Pretrained weights need torchvision's stem; a LINEAR head has no hidden layers.
  const absl::StatusOr<Classifier> bad =
      BuildClassifier(Config("stem { kernel_size: 3 } pretrained_weights: 'x.pth' "
                             "head { kind: LINEAR hidden_features: [64] }"),
                      2);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("model.pretrained_weights: torchvision's weights need"),
            std::string::npos)
      << bad.status();
  EXPECT_NE(bad.status().message().find("model.head.hidden_features: must be empty"),
            std::string::npos)
      << bad.status();
}

// The whitening stem on images whose neighbouring pixels are correlated and not centred: its first
// half of filters decorrelates every 3x3 patch to unit second moments (closed form: lambda /
// (lambda
// + eps) with eps tiny), the second half is its negative, the largest eigenvalue's filter is the
// patch's mean (one sign throughout), and no FreezeTo trains it.
// A one-channel stem's weight [O,1,3,3] is contiguous in both memory formats; ToChannelsLast still
// gives it channels-last strides, so oneDNN runs the stem in channels-last (no copy of its output
// for the next convolution) and the network computes what it computed in NCHW.
TEST(ClassifierTest, ToChannelsLastRewritesAOneChannelStem) {
  Classifier model = *BuildClassifier(
      Config("architecture: 'resnet' input_channels: 1 shape { widths: [8, 16] blocks: [1, 1] } "
             "stem { kernel_size: 3 stride: 2 max_pool: false }"),
      2);
  model->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor x = torch::randn({2, 1, 20, 20});
  const torch::Tensor nchw = model->forward(x);
  ASSERT_TRUE(model->body->conv1->weight.is_contiguous(torch::MemoryFormat::ChannelsLast));
  ASSERT_NE(model->body->conv1->weight.suggest_memory_format(), torch::MemoryFormat::ChannelsLast);
  ToChannelsLast(*model);
  for (const torch::Tensor& p : model->parameters()) {
    if (p.dim() == 4) EXPECT_EQ(p.suggest_memory_format(), torch::MemoryFormat::ChannelsLast);
  }
  // Once is enough: a second call leaves every weight where it is (no copy).
  std::vector<const void*> storage;
  for (const torch::Tensor& p : model->parameters()) storage.push_back(p.data_ptr());
  ToChannelsLast(*model);
  for (size_t i = 0; i < storage.size(); ++i) {
    EXPECT_EQ(model->parameters()[i].data_ptr(), storage[i]) << "parameter " << i;
  }
  const torch::Tensor input = x.contiguous(torch::MemoryFormat::ChannelsLast);
  EXPECT_TRUE(model->body->conv1->forward(input).is_contiguous(torch::MemoryFormat::ChannelsLast));
  EXPECT_TRUE(torch::allclose(model->forward(input), nchw, 1e-5, 1e-5));
}

TEST(ClassifierTest, WhiteningStemDecorrelatesPatchesAndNeverTrains) {
  Classifier model = *BuildClassifier(
      Config("architecture: 'resnet' shape { widths: [16] blocks: [1] } input_channels: 1 "
             "stem { kernel_size: 3 stride: 2 max_pool: false whiten: true }"),
      2);
  ASSERT_EQ(model->body->conv1->weight.sizes(), torch::IntArrayRef({18, 1, 3, 3}));
  EXPECT_EQ(model->body->bn1->weight.size(0), 18);
  // The first stage starts with a 1x1 projection from the 18 filters to its 16 channels.
  auto* block = model->body->layer1[0]->as<BasicBlockImpl>();
  ASSERT_NE(block, nullptr);
  ASSERT_TRUE(block->downsample);
  torch::manual_seed(3);
  const torch::Tensor gray =
      torch::avg_pool2d(torch::randn({64, 1, 22, 22}), 3, /*stride=*/1) + 0.5;  // 20 x 20
  const torch::Tensor rgb = gray.expand({64, 3, 20, 20});  // the loader's three copies
  ASSERT_TRUE(SetPatchWhitening(*model, rgb, /*eps=*/1e-12).ok());
  const torch::Tensor w = model->body->conv1->weight.detach().to(torch::kDouble);
  const torch::Tensor y = torch::conv2d(gray.to(torch::kDouble), w);  // stride 1, no padding
  const torch::Tensor first = y.slice(1, 0, 9).permute({0, 2, 3, 1}).reshape({-1, 9});
  const torch::Tensor moment = first.t().matmul(first) / first.size(0);
  EXPECT_TRUE(torch::allclose(moment, torch::eye(9, torch::kDouble), /*rtol=*/0, /*atol=*/2e-4))
      << moment;
  EXPECT_TRUE(torch::allclose(y.slice(1, 9, 18), -y.slice(1, 0, 9)));
  const torch::Tensor top = w[0].flatten();
  EXPECT_TRUE((top > 0).all().item<bool>() || (top < 0).all().item<bool>()) << top;
  for (int n : {0, -1, 1}) {
    model->FreezeTo(n, /*train_bn=*/true);
    EXPECT_FALSE(model->body->conv1->weight.requires_grad()) << n;
    EXPECT_TRUE(model->body->bn1->bias.requires_grad() || n != 0) << n;
  }
  // Only a model built with the whitening stem has one to fill.
  Classifier plain = *BuildClassifier(Config("architecture: 'resnet18'"), 2);
  EXPECT_EQ(SetPatchWhitening(*plain, rgb, 1e-4).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(SetPatchWhitening(*model, torch::zeros({2, 1, 2, 2}), 1e-4).code(),
            absl::StatusCode::kInvalidArgument);
}

// Without model.batch_norm_scale every BatchNorm weight of the body is 1 and never trains; its
// biases and the head's BatchNorm layers train as before, and a clone keeps it so.
TEST(ClassifierTest, BatchNormWithoutScaleFixesTheBodysWeightsAtOne) {
  Classifier model =
      *BuildClassifier(Config("architecture: 'resnet' shape { widths: [8, 16] blocks: [1, 1] } "
                              "batch_norm_scale: false"),
                       2);
  model->FreezeTo(0, /*train_bn=*/true);
  int fixed = 0;
  for (const auto& module : model->body->modules(/*include_self=*/false)) {
    if (auto* bn = module->as<SyncBatchNorm>()) {
      EXPECT_TRUE(torch::equal(bn->weight, torch::ones_like(bn->weight)));
      EXPECT_FALSE(bn->weight.requires_grad());
      EXPECT_TRUE(bn->bias.requires_grad());
      ++fixed;
    }
  }
  EXPECT_EQ(fixed, 6);  // the stem's; two per block; the second block's projection
  for (const auto& module : model->head->modules(/*include_self=*/false)) {
    if (auto* bn = module->as<SyncBatchNorm>()) EXPECT_TRUE(bn->weight.requires_grad());
  }
  Classifier copy = CloneClassifier(*model);
  copy->FreezeTo(0, /*train_bn=*/true);
  EXPECT_FALSE(copy->body->bn1->weight.requires_grad());
  EXPECT_TRUE(copy->IsFixed(copy->body->bn1->weight));
  EXPECT_FALSE(copy->IsFixed(copy->body->bn1->bias));
}

// PreciseBN against its closed form: the stem's BatchNorm gets the mean over the batches of each
// batch's per-channel mean of conv1's output; momentum, batch count and mode are restored.
TEST(ClassifierTest, PreciseBatchNormAveragesTheBatchStatistics) {
  Classifier model = *BuildClassifier(Config("architecture: 'resnet18'"), 2);
  model->eval();
  std::vector<torch::Tensor> batches;
  for (int b = 0; b < 3; ++b) batches.push_back(torch::randn({4, 3, 32, 32}) * (b + 1) + b);
  torch::Tensor expected_mean = torch::zeros({64}), expected_var = torch::zeros({64});
  {
    torch::NoGradGuard no_grad;
    for (const torch::Tensor& x : batches) {
      const torch::Tensor y = model->body->conv1->forward(x);
      expected_mean += y.mean({0, 2, 3}) / 3;
      expected_var += y.var({0, 2, 3}, /*unbiased=*/true) / 3;
    }
  }
  const int64_t count = model->body->bn1->num_batches_tracked.item<int64_t>();
  size_t next = 0;
  RecomputeBatchNormStatistics(
      *model, [&]() { return next < batches.size() ? batches[next++] : torch::Tensor(); }, 5);
  EXPECT_EQ(next, 3u);  // asked for 5 batches, there were 3
  EXPECT_TRUE(torch::allclose(model->body->bn1->running_mean, expected_mean, 1e-4, 1e-4));
  EXPECT_TRUE(torch::allclose(model->body->bn1->running_var, expected_var, 1e-3, 1e-4));
  EXPECT_DOUBLE_EQ(model->body->bn1->momentum, 0.1);
  EXPECT_EQ(model->body->bn1->num_batches_tracked.item<int64_t>(), count);
  EXPECT_FALSE(model->is_training());
}

// Grad-CAM against its closed form: with average pooling and one Linear layer, d logit_c / dA[k]
// is w[c,k] / (h*w) everywhere, so the map is relu(sum_k w[c,k] A[k]) / (h*w), the class
// activation map scaled.
TEST(ClassifierTest, GradCamWithALinearHeadIsTheClassActivationMap) {
  torch::manual_seed(3);
  Classifier model = *BuildClassifier(
      Config("architecture: 'resnet18' stem { kernel_size: 3 stride: 2 max_pool: false } "
             "head { kind: LINEAR dropout: [0.5] concat_pool: false }"),
      2);
  model->train();
  const torch::Tensor x = torch::randn({1, 3, 50, 50});
  for (int64_t c : {0, 1}) {
    const torch::Tensor map = GradCam(*model, x, c);
    EXPECT_TRUE(model->is_training());
    torch::NoGradGuard no_grad;
    model->eval();
    const torch::Tensor a = model->body->ForwardFeatures(x)[0];  // [512, 4, 4]
    model->train();
    const torch::Tensor w = model->head[3]->as<torch::nn::Linear>()->weight[c];
    const torch::Tensor expected = torch::relu((a * w.view({-1, 1, 1})).sum(0)) / 16.0;
    ASSERT_EQ(map.sizes(), torch::IntArrayRef({4, 4}));
    EXPECT_TRUE(torch::allclose(map, expected, 1e-4, 1e-6)) << map << expected;
    EXPECT_GT(map.max().item<float>(), 0.0f);
  }
  for (const auto& p : model->parameters()) EXPECT_FALSE(p.grad().defined());
}

// With fastai's default head (concat pooling, BatchNorm, dropout) the map is non-negative, on the
// body's grid, and repeatable: eval mode, so dropout and BatchNorm do not vary.
TEST(ClassifierTest, GradCamWithTheDefaultHead) {
  torch::manual_seed(4);
  Classifier model = *BuildClassifier(Config("architecture: 'resnet18'"), 2);
  const torch::Tensor x = torch::randn({1, 3, 128, 128});
  const torch::Tensor a = GradCam(*model, x, 1);
  const torch::Tensor b = GradCam(*model, x, 1);
  ASSERT_EQ(a.sizes(), torch::IntArrayRef({4, 4}));
  EXPECT_GE(a.min().item<float>(), 0.0f);
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_TRUE(model->is_training());
  for (const auto& p : model->parameters()) EXPECT_FALSE(p.grad().defined());
}

}  // namespace
}  // namespace malaria::models
