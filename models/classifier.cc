#include "models/classifier.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/autograd.h>
#include <torch/linalg.h>
#include <torch/nn/init.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>

#include <mutex>
#include <vector>

#include "absl/strings/str_cat.h"
#include "models/architectures.h"
#include "models/model_config.h"

namespace malaria::models {
namespace nn = torch::nn;

torch::Tensor AdaptiveConcatPool2dImpl::forward(torch::Tensor x) {
  return torch::cat(
      {std::get<0>(torch::adaptive_max_pool2d(x, {1, 1})), torch::adaptive_avg_pool2d(x, {1, 1})},
      1);
}

torch::Tensor FlattenImpl::forward(torch::Tensor x) { return x.flatten(1); }

namespace {

// Whether `t` ([N, C, H, W]) has exactly the strides of a dense channels-last tensor of its sizes.
bool HasChannelsLastStrides(const torch::Tensor& t) {
  const int64_t c = t.size(1), h = t.size(2), w = t.size(3);
  const std::vector<int64_t> expected = {h * w * c, 1, w * c, c};
  return t.strides().vec() == expected;
}

}  // namespace

void ToChannelsLast(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (torch::Tensor& p : module.parameters()) {
    if (p.dim() == 4 && !HasChannelsLastStrides(p)) {
      p.set_data(torch::empty_like(p, torch::MemoryFormat::ChannelsLast).copy_(p));
    }
  }
}

bool IsBatchNorm(const nn::Module& module) {
  return module.as<SyncBatchNorm>() != nullptr || module.as<nn::BatchNorm2d>() != nullptr ||
         module.as<nn::BatchNorm1d>() != nullptr;
}

ClassifierImpl::ClassifierImpl(std::string architecture, ResNet body_in, nn::Sequential head_in,
                               ModelConfig config, int num_classes)
    : architecture_(std::move(architecture)),
      config_(std::move(config)),
      num_classes_(num_classes) {
  body = register_module("body", body_in);
  head = register_module("head", head_in);
}

torch::Tensor ClassifierImpl::forward(torch::Tensor x) {
  return head->forward(body->ForwardFeatures(x));
}

std::vector<std::vector<std::shared_ptr<nn::Module>>> ClassifierImpl::LayerGroups() {
  std::vector<std::shared_ptr<nn::Module>> stem = {body->conv1.ptr(), body->bn1.ptr()};
  if (!body->maxpool.is_empty()) stem.push_back(body->maxpool.ptr());
  stem.push_back(body->layer1.ptr());
  stem.push_back(body->layer2.ptr());
  return {
      stem,
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
        for (auto& p : module->parameters(/*recurse=*/false)) {
          p.set_requires_grad(trains && !IsFixed(p));
        }
      }
    }
  }
}

void ClassifierImpl::FixParameter(torch::Tensor p) {
  p.set_requires_grad(false);
  if (!IsFixed(p)) fixed_.push_back(std::move(p));
}

bool ClassifierImpl::IsFixed(const torch::Tensor& p) const {
  for (const torch::Tensor& f : fixed_) {
    if (f.unsafeGetTensorImpl() == p.unsafeGetTensorImpl()) return true;
  }
  return false;
}

absl::Status SetPatchWhitening(ClassifierImpl& model, const torch::Tensor& images, double eps) {
  if (!model.config().stem().whiten()) {
    return absl::FailedPreconditionError(
        "SetPatchWhitening: the model has no whitening stem (model.stem.whiten)");
  }
  torch::Tensor weight = model.body->conv1->weight;
  const int64_t channels = weight.size(1), k = weight.size(2);
  if (images.dim() != 4 || images.size(2) < k || images.size(3) < k || images.size(0) == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("SetPatchWhitening: needs images [N,C,H,W], N > 0, of at least ", k, " x ", k,
                     " pixels, got ", images.dim(), " dimensions"));
  }
  torch::NoGradGuard no_grad;
  torch::Tensor x = images.to(weight.device(), torch::kDouble);
  if (channels == 1 && x.size(1) == 3) x = x.mean(1, /*keepdim=*/true);
  // [N, c*k*k, L] -> [N*L, c*k*k], each row one patch in the weight's (c, kh, kw) order.
  const torch::Tensor patches =
      torch::im2col(x, {k, k}, /*dilation=*/{1, 1}, /*padding=*/{0, 0}, /*stride=*/{1, 1})
          .transpose(1, 2)
          .reshape({-1, channels * k * k});
  const torch::Tensor second_moment =
      patches.t().matmul(patches) / static_cast<double>(patches.size(0));
  auto [eigenvalues, eigenvectors] = torch::linalg::eigh(second_moment, "U");
  // Largest first; the columns of `eigenvectors` are the eigenvectors.
  eigenvalues = eigenvalues.flip(0);
  eigenvectors = eigenvectors.flip(1);
  const torch::Tensor filters =
      (eigenvectors.t() / (eigenvalues + eps).sqrt().unsqueeze(1)).reshape({-1, channels, k, k});
  weight.copy_(torch::cat({filters, -filters}).to(weight.dtype()));
  return absl::OkStatus();
}

nn::Sequential MakeHead(int64_t body_channels, int64_t num_classes, const HeadConfig& given) {
  HeadConfig config = given;
  FillHeadDefaults(&config);
  // Both kinds start alike: pool (average, or fastai's average and max concatenated), flatten.
  nn::Sequential head;
  if (config.concat_pool()) {
    head->push_back(AdaptiveConcatPool2d());
  } else {
    head->push_back(nn::AdaptiveAvgPool2d(nn::AdaptiveAvgPool2dOptions(1)));
  }
  head->push_back(Flatten());
  const int64_t pooled = config.concat_pool() ? 2 * body_channels : body_channels;
  if (config.kind() == HeadConfig::LINEAR) {
    // torchvision's head: (dropout), Linear, initialised as nn.Linear is.
    if (config.dropout(0) != 0) head->push_back(nn::Dropout(config.dropout(0)));
    head->push_back(nn::Linear(pooled, num_classes));
    return head;
  }
  // fastai's head: (BatchNorm, dropout, Linear, ReLU) per hidden layer, then the output layer.
  std::vector<int64_t> features = {pooled};
  for (int64_t h : config.hidden_features()) features.push_back(h);
  features.push_back(num_classes);
  const std::vector<double> ps(config.dropout().begin(), config.dropout().end());
  TORCH_CHECK(ps.size() == features.size() - 1, "the head has ", features.size() - 1,
              " linear layers but ", ps.size(), " dropout values");
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

void RecomputeBatchNormStatistics(ClassifierImpl& model,
                                  const std::function<torch::Tensor()>& next_batch, int batches) {
  std::vector<SyncBatchNormImpl*> layers;
  for (const auto& module : model.modules(/*include_self=*/false)) {
    if (auto* bn = module->as<SyncBatchNormImpl>()) layers.push_back(bn);
  }
  std::vector<double> momenta;
  std::vector<torch::Tensor> counts;
  for (SyncBatchNormImpl* bn : layers) {
    momenta.push_back(bn->momentum);
    counts.push_back(bn->num_batches_tracked.clone());
  }
  const bool was_training = model.is_training();
  model.train();
  {
    torch::NoGradGuard no_grad;
    for (int k = 1; k <= batches; ++k) {
      const torch::Tensor x = next_batch();
      if (!x.defined()) break;
      // Momentum 1/k makes each running statistic the mean over the batches seen so far.
      for (SyncBatchNormImpl* bn : layers) bn->momentum = 1.0 / k;
      model.forward(x);
    }
  }
  for (size_t i = 0; i < layers.size(); ++i) {
    layers[i]->momentum = momenta[i];
    layers[i]->num_batches_tracked.copy_(counts[i]);
  }
  model.train(was_training);
}

torch::Tensor GradCam(ClassifierImpl& model, const torch::Tensor& x, int64_t target) {
  const bool was_training = model.is_training();
  model.eval();
  torch::AutoGradMode grad_mode(true);
  const torch::Device device = model.parameters().front().device();
  const torch::Tensor activations =
      model.body->ForwardFeatures(x.to(device)).detach().requires_grad_(true);
  const torch::Tensor logit = model.head->forward(activations).select(0, 0).select(0, target);
  const torch::Tensor grad = torch::autograd::grad({logit}, {activations})[0];
  model.train(was_training);
  const torch::Tensor weights = grad[0].mean({1, 2}).view({-1, 1, 1});
  return torch::relu((activations.detach()[0] * weights).sum(0)).to(torch::kCPU, torch::kFloat);
}

absl::StatusOr<Classifier> BuildClassifier(const ModelConfig& config, int num_classes) {
  base::ConfigProblems problems;
  ValidateModelConfig(config, problems.In("model"));
  if (absl::Status s = problems.ToStatus("invalid model config"); !s.ok()) return s;
  if (num_classes < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("a classifier needs at least 2 classes, got ", num_classes));
  }
  Stem stem;
  stem.kernel_size = config.stem().kernel_size();
  stem.stride = config.stem().stride();
  stem.max_pool = config.stem().max_pool();
  stem.in_channels = config.input_channels();
  if (config.stem().whiten()) {
    stem.out_channels = 2 * stem.kernel_size * stem.kernel_size * stem.in_channels;
  }
  ResNet body =
      config.architecture() == kShapedResNet
          ? MakeShapedResNet({config.shape().blocks().begin(), config.shape().blocks().end()},
                             {config.shape().widths().begin(), config.shape().widths().end()},
                             /*num_classes=*/0, stem)
          : MakeResNet(config.architecture(), /*num_classes=*/0, stem);
  if (config.zero_init_residual()) ZeroInitResiduals(*body);
  nn::Sequential h = MakeHead(body->FeatureChannels(), num_classes, config.head());
  Classifier model(config.architecture(), body, h, config, num_classes);
  // Until SetPatchWhitening fills it, a whitening stem keeps its random initialisation.
  if (config.stem().whiten()) model->FixParameter(model->body->conv1->weight);
  if (!config.batch_norm_scale()) {
    for (const auto& module : model->body->modules(/*include_self=*/false)) {
      auto* bn = module->as<SyncBatchNorm>();
      if (bn == nullptr) continue;
      {
        torch::NoGradGuard no_grad;
        bn->weight.fill_(1);
      }
      model->FixParameter(bn->weight);
    }
  }
  return model;
}

Classifier CloneClassifier(ClassifierImpl& model) {
  at::Generator generator = at::detail::getDefaultCPUGenerator();
  at::Tensor rng;
  {
    std::lock_guard<std::mutex> lock(generator.mutex());
    rng = generator.get_state();
  }
  absl::StatusOr<Classifier> copy = BuildClassifier(model.config(), model.num_classes());
  TORCH_CHECK(copy.ok(), "CloneClassifier: ", copy.status().ToString());
  {
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_state(rng);
  }
  torch::NoGradGuard no_grad;
  const std::vector<torch::Tensor> from = model.parameters(), to = (*copy)->parameters();
  TORCH_CHECK(from.size() == to.size(), "CloneClassifier: parameters differ");
  for (size_t i = 0; i < from.size(); ++i) {
    torch::Tensor t = to[i];
    t.set_data(from[i].detach().clone());
    t.set_requires_grad(from[i].requires_grad());
  }
  const std::vector<torch::Tensor> from_buffers = model.buffers(), to_buffers = (*copy)->buffers();
  TORCH_CHECK(from_buffers.size() == to_buffers.size(), "CloneClassifier: buffers differ");
  for (size_t i = 0; i < from_buffers.size(); ++i) {
    torch::Tensor t = to_buffers[i];
    t.set_data(from_buffers[i].detach().clone());
  }
  return *copy;
}

}  // namespace malaria::models
