#include "models/classifier.h"

#include <torch/nn/init.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "models/architectures.h"

namespace malaria::models {
namespace {

namespace nn = torch::nn;

std::vector<int64_t> HiddenFeatures(const HeadConfig& config) {
  if (config.hidden_features_size() == 0) return {512};
  return {config.hidden_features().begin(), config.hidden_features().end()};
}

std::vector<double> Dropouts(const HeadConfig& config, size_t linear_layers) {
  if (config.dropout_size() > 0) return {config.dropout().begin(), config.dropout().end()};
  // fastai: ps = 0.5 for the last layer, ps / 2 for the others.
  std::vector<double> ps(linear_layers, 0.25);
  ps.back() = 0.5;
  return ps;
}

}  // namespace

torch::Tensor AdaptiveConcatPool2dImpl::forward(torch::Tensor x) {
  return torch::cat(
      {std::get<0>(torch::adaptive_max_pool2d(x, {1, 1})), torch::adaptive_avg_pool2d(x, {1, 1})},
      1);
}

torch::Tensor FlattenImpl::forward(torch::Tensor x) { return x.flatten(1); }

bool IsBatchNorm(const nn::Module& module) {
  return module.as<SyncBatchNorm>() != nullptr || module.as<nn::BatchNorm2d>() != nullptr ||
         module.as<nn::BatchNorm1d>() != nullptr;
}

ClassifierImpl::ClassifierImpl(std::string architecture, ResNet body_in, nn::Sequential head_in)
    : architecture_(std::move(architecture)) {
  body = register_module("body", body_in);
  head = register_module("head", head_in);
}

torch::Tensor ClassifierImpl::forward(torch::Tensor x) {
  return head->forward(body->ForwardFeatures(x));
}

std::vector<std::vector<std::shared_ptr<nn::Module>>> ClassifierImpl::LayerGroups() {
  return {
      {body->conv1.ptr(), body->bn1.ptr(), body->maxpool.ptr(), body->layer1.ptr(),
       body->layer2.ptr()},
      {body->layer3.ptr(), body->layer4.ptr()},
      {head.ptr()},
  };
}

void ClassifierImpl::FreezeTo(int n, bool train_bn) {
  auto groups = LayerGroups();
  const int count = static_cast<int>(groups.size());
  if (n < 0) n += count;
  TORCH_CHECK(n >= 0 && n <= count, "freeze_to(", n, ") out of range for ", count, " layer groups");
  for (int g = 0; g < count; ++g) {
    const bool frozen = g < n;
    for (const auto& top : groups[g]) {
      for (const auto& module : top->modules(/*include_self=*/true)) {
        const bool trains = !frozen || (train_bn && IsBatchNorm(*module));
        for (auto& p : module->parameters(/*recurse=*/false)) p.set_requires_grad(trains);
      }
    }
  }
}

nn::Sequential MakeHead(int64_t body_channels, int64_t num_classes, const HeadConfig& config) {
  std::vector<int64_t> features = {config.concat_pool() ? 2 * body_channels : body_channels};
  for (int64_t h : HiddenFeatures(config)) features.push_back(h);
  features.push_back(num_classes);
  const std::vector<double> ps = Dropouts(config, features.size() - 1);
  TORCH_CHECK(ps.size() == features.size() - 1, "the head has ", features.size() - 1,
              " linear layers but ", ps.size(), " dropout values");

  nn::Sequential head;
  if (config.concat_pool()) {
    head->push_back(AdaptiveConcatPool2d());
  } else {
    head->push_back(nn::AdaptiveAvgPool2d(nn::AdaptiveAvgPool2dOptions(1)));
  }
  head->push_back(Flatten());
  for (size_t i = 0; i + 1 < features.size(); ++i) {
    head->push_back(SyncBatchNorm(features[i]));
    if (ps[i] != 0) head->push_back(nn::Dropout(ps[i]));
    nn::Linear linear(features[i], features[i + 1]);
    // fastai: apply_init(head, kaiming_normal_) on layers with weights except BatchNorm.
    nn::init::kaiming_normal_(linear->weight);
    nn::init::zeros_(linear->bias);
    head->push_back(linear);
    if (i + 2 < features.size()) head->push_back(nn::ReLU(nn::ReLUOptions(/*inplace=*/true)));
  }
  if (config.bn_final()) head->push_back(SyncBatchNorm(num_classes));
  return head;
}

absl::StatusOr<Classifier> BuildClassifier(const ModelConfig& config, int num_classes) {
  if (!IsKnownArchitecture(config.architecture())) {
    return absl::InvalidArgumentError(absl::StrCat("model.architecture: unknown architecture '",
                                                   config.architecture(),
                                                   "'; known: ", KnownArchitecturesList()));
  }
  const HeadConfig& head = config.head();
  const size_t linear_layers =
      (head.hidden_features_size() == 0 ? 1 : head.hidden_features_size()) + 1;
  if (head.dropout_size() > 0 && static_cast<size_t>(head.dropout_size()) != linear_layers) {
    return absl::InvalidArgumentError(absl::StrCat("model.head.dropout: ", head.dropout_size(),
                                                   " values for ", linear_layers,
                                                   " linear layers (one per linear layer)"));
  }
  if (num_classes < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("a classifier needs at least 2 classes, got ", num_classes));
  }
  ResNet body = MakeResNet(config.architecture(), /*num_classes=*/0);
  nn::Sequential h = MakeHead(body->FeatureChannels(), num_classes, head);
  return Classifier(config.architecture(), body, h);
}

}  // namespace malaria::models
