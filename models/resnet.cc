#include "models/resnet.h"

#include <torch/nn/functional/activation.h>
#include <torch/nn/init.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "models/architectures.h"

namespace malaria::models {
namespace {

namespace nn = torch::nn;

nn::Conv2d Conv(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, kernel).stride(stride).padding(padding).bias(false));
}

torch::Tensor Relu(torch::Tensor x) { return torch::relu_(x); }

}  // namespace

BasicBlockImpl::BasicBlockImpl(int64_t inplanes, int64_t planes, int64_t stride,
                               nn::Sequential downsample_in) {
  conv1 = register_module("conv1", Conv(inplanes, planes, 3, stride, 1));
  bn1 = register_module("bn1", SyncBatchNorm(planes));
  conv2 = register_module("conv2", Conv(planes, planes, 3, 1, 1));
  bn2 = register_module("bn2", SyncBatchNorm(planes));
  if (downsample_in) downsample = register_module("downsample", downsample_in);
}

torch::Tensor BasicBlockImpl::forward(torch::Tensor x) {
  torch::Tensor identity = downsample ? downsample->forward(x) : x;
  torch::Tensor out = Relu(bn1->forward(conv1->forward(x)));
  out = bn2->forward(conv2->forward(out));
  out += identity;  // in place, as torchvision's blocks add it
  return Relu(out);
}

BottleneckImpl::BottleneckImpl(int64_t inplanes, int64_t planes, int64_t stride,
                               nn::Sequential downsample_in) {
  conv1 = register_module("conv1", Conv(inplanes, planes, 1, 1, 0));
  bn1 = register_module("bn1", SyncBatchNorm(planes));
  conv2 = register_module("conv2", Conv(planes, planes, 3, stride, 1));
  bn2 = register_module("bn2", SyncBatchNorm(planes));
  conv3 = register_module("conv3", Conv(planes, planes * kExpansion, 1, 1, 0));
  bn3 = register_module("bn3", SyncBatchNorm(planes * kExpansion));
  if (downsample_in) downsample = register_module("downsample", downsample_in);
}

torch::Tensor BottleneckImpl::forward(torch::Tensor x) {
  torch::Tensor identity = downsample ? downsample->forward(x) : x;
  torch::Tensor out = Relu(bn1->forward(conv1->forward(x)));
  out = Relu(bn2->forward(conv2->forward(out)));
  out = bn3->forward(conv3->forward(out));
  out += identity;  // in place, as torchvision's blocks add it
  return Relu(out);
}

ResNetImpl::ResNetImpl(bool bottleneck, std::vector<int64_t> layers, int64_t num_classes, Stem stem,
                       std::vector<int64_t> widths) {
  TORCH_CHECK(!widths.empty() && widths.size() <= 4 && layers.size() == widths.size(),
              "a ResNet has 1 to 4 stages, each with its blocks and width: got ", layers.size(),
              " and ", widths.size());
  TORCH_CHECK(stem.kernel_size % 2 == 1 && stem.stride >= 1, "bad stem: kernel ", stem.kernel_size,
              ", stride ", stem.stride);
  const int64_t stem_channels = stem.out_channels > 0 ? stem.out_channels : widths[0];
  conv1 = register_module("conv1", Conv(stem.in_channels, stem_channels, stem.kernel_size,
                                        stem.stride, stem.kernel_size / 2));
  bn1 = register_module("bn1", SyncBatchNorm(stem_channels));
  inplanes_ = stem_channels;
  if (stem.max_pool) {
    maxpool =
        register_module("maxpool", nn::MaxPool2d(nn::MaxPool2dOptions(3).stride(2).padding(1)));
  }
  // Stages past widths.size() are empty Sequentials: the names and layer groups stay as they are.
  auto stage = [&](size_t i) {
    return i < widths.size() ? MakeLayer(bottleneck, widths[i], layers[i], i == 0 ? 1 : 2)
                             : nn::Sequential();
  };
  layer1 = register_module("layer1", stage(0));
  layer2 = register_module("layer2", stage(1));
  layer3 = register_module("layer3", stage(2));
  layer4 = register_module("layer4", stage(3));
  feature_channels_ = inplanes_;
  if (num_classes > 0) fc = register_module("fc", nn::Linear(feature_channels_, num_classes));

  // torchvision's initialisation (zero_init_residual=False).
  for (auto& module : modules(/*include_self=*/false)) {
    if (auto* conv = module->as<nn::Conv2d>()) {
      nn::init::kaiming_normal_(conv->weight, /*a=*/0, torch::kFanOut, torch::kReLU);
    } else if (auto* bn = module->as<SyncBatchNorm>()) {
      nn::init::ones_(bn->weight);
      nn::init::zeros_(bn->bias);
    }
  }
}

void ZeroInitResiduals(ResNetImpl& net) {
  torch::NoGradGuard no_grad;
  for (auto& module : net.modules(/*include_self=*/false)) {
    if (auto* block = module->as<BasicBlockImpl>()) {
      block->bn2->weight.zero_();
    } else if (auto* bottleneck = module->as<BottleneckImpl>()) {
      bottleneck->bn3->weight.zero_();
    }
  }
}

nn::Sequential ResNetImpl::MakeLayer(bool bottleneck, int64_t planes, int64_t blocks,
                                     int64_t stride) {
  const int64_t expansion = bottleneck ? BottleneckImpl::kExpansion : BasicBlockImpl::kExpansion;
  nn::Sequential downsample{nullptr};
  if (stride != 1 || inplanes_ != planes * expansion) {
    downsample = nn::Sequential(Conv(inplanes_, planes * expansion, 1, stride, 0),
                                SyncBatchNorm(planes * expansion));
  }
  nn::Sequential layer;
  for (int64_t i = 0; i < blocks; ++i) {
    const int64_t s = i == 0 ? stride : 1;
    nn::Sequential d = i == 0 ? downsample : nn::Sequential(nullptr);
    if (bottleneck) {
      layer->push_back(Bottleneck(inplanes_, planes, s, d));
    } else {
      layer->push_back(BasicBlock(inplanes_, planes, s, d));
    }
    inplanes_ = planes * expansion;
  }
  return layer;
}

torch::Tensor ResNetImpl::ForwardFeatures(torch::Tensor x) {
  // A one-channel stem reads the gray level: the mean of the loader's three channels.
  if (conv1->weight.size(1) == 1 && x.size(1) == 3) x = x.mean(1, /*keepdim=*/true);
  x = Relu(bn1->forward(conv1->forward(x)));
  if (!maxpool.is_empty()) x = maxpool->forward(x);
  for (nn::Sequential* layer : {&layer1, &layer2, &layer3, &layer4}) {
    if ((*layer)->size() > 0) x = (*layer)->forward(x);
  }
  return x;
}

torch::Tensor ResNetImpl::forward(torch::Tensor x) {
  TORCH_CHECK(!fc.is_empty(), "this ResNet was built as a body (num_classes = 0): no fc");
  x = ForwardFeatures(x);
  x = torch::adaptive_avg_pool2d(x, {1, 1}).flatten(1);
  return fc->forward(x);
}

ResNet MakeResNet(const std::string& architecture, int64_t num_classes, Stem stem) {
  if (architecture == "resnet18")
    return ResNet(false, std::vector<int64_t>{2, 2, 2, 2}, num_classes, stem);
  if (architecture == "resnet34")
    return ResNet(false, std::vector<int64_t>{3, 4, 6, 3}, num_classes, stem);
  if (architecture == "resnet50")
    return ResNet(true, std::vector<int64_t>{3, 4, 6, 3}, num_classes, stem);
  if (architecture == "resnet101")
    return ResNet(true, std::vector<int64_t>{3, 4, 23, 3}, num_classes, stem);
  if (architecture == "resnet152")
    return ResNet(true, std::vector<int64_t>{3, 8, 36, 3}, num_classes, stem);
  TORCH_CHECK(false, "unknown architecture '", architecture,
              "'; known: ", KnownArchitecturesList());
}

ResNet MakeShapedResNet(std::vector<int64_t> blocks, std::vector<int64_t> widths,
                        int64_t num_classes, Stem stem) {
  return ResNet(false, std::move(blocks), num_classes, stem, std::move(widths));
}

}  // namespace malaria::models
