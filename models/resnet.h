// torchvision's ResNets in LibTorch, with torchvision's module names, so state_dict keys are the
// same as in torchvision's published .pth files (`conv1.weight`, `bn1.running_mean`,
// `layer1.0.conv1.weight`, `layer2.0.downsample.0.weight`, `fc.bias`, ...).
//
//   ResNet net = MakeResNet("resnet34", /*num_classes=*/1000);   // torchvision.models.resnet34()
//   torch::Tensor logits = net->forward(images);                 // [N,3,H,W] -> [N,1000]
//   ResNet body = MakeResNet("resnet50", /*num_classes=*/0);     // no avgpool/fc: a body
//   torch::Tensor features = body->ForwardFeatures(images);      // [N,2048,H/32,W/32]
#ifndef MALARIA_MODELS_RESNET_H_
#define MALARIA_MODELS_RESNET_H_

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/pooling.h>
#include <torch/nn/pimpl.h>

#include <string>
#include <vector>

#include "models/sync_batch_norm.h"

namespace malaria::models {

// Two 3x3 convolutions with a residual connection (ResNet-18/34).
class BasicBlockImpl : public torch::nn::Module {
 public:
  static constexpr int64_t kExpansion = 1;
  // `downsample` may be empty (nullptr) when the shapes already match.
  BasicBlockImpl(int64_t inplanes, int64_t planes, int64_t stride,
                 torch::nn::Sequential downsample);
  torch::Tensor forward(torch::Tensor x);

  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  SyncBatchNorm bn1{nullptr}, bn2{nullptr};
  torch::nn::Sequential downsample{nullptr};
};
TORCH_MODULE(BasicBlock);

// 1x1 reduce, 3x3 (carrying the stride, as torchvision's "ResNet v1.5"), 1x1 expand (ResNet-50+).
class BottleneckImpl : public torch::nn::Module {
 public:
  static constexpr int64_t kExpansion = 4;
  BottleneckImpl(int64_t inplanes, int64_t planes, int64_t stride,
                 torch::nn::Sequential downsample);
  torch::Tensor forward(torch::Tensor x);

  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  SyncBatchNorm bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
  torch::nn::Sequential downsample{nullptr};
};
TORCH_MODULE(Bottleneck);

// The stem: what the body does to the image before layer1. torchvision's (what ImageNet weights
// were trained with) is a 7x7 stride-2 convolution and a 3x3 stride-2 max-pool: the image shrinks
// 4x at once. Small crops keep more of their pixels with a small-input stem: a 3x3 convolution of
// stride 1 (CIFAR ResNets) or 2, without the max-pool.
struct Stem {
  int64_t kernel_size = 7;
  int64_t stride = 2;
  bool max_pool = true;
  // Channels of the image the stem reads: 3 (RGB) or 1 (a gray level).
  int64_t in_channels = 3;
  // Channels of the first convolution; 0: the first stage's width (every ResNet in torchvision).
  // Otherwise the first stage starts with a 1x1 projection to its width.
  int64_t out_channels = 0;
  // IsTorchvision: the stem torchvision's weights fit.
  bool IsTorchvision() const { return kernel_size == 7 && stride == 2 && max_pool; }
};

class ResNetImpl : public torch::nn::Module {
 public:
  // `bottleneck` picks the block type; `layers` gives the blocks per stage (resnet34: 3, 4, 6, 3),
  // `widths` the planes of each stage (torchvision's 64, 128, 256, 512; the stem has widths[0]).
  // Fewer than four stages leave the last layerN modules empty (no parameters; forward skips
  // them). num_classes == 0 builds the body only (no avgpool, no fc).
  ResNetImpl(bool bottleneck, std::vector<int64_t> layers, int64_t num_classes, Stem stem = Stem(),
             std::vector<int64_t> widths = {64, 128, 256, 512});

  // forward: float [N,3,H,W], ImageNet-normalised -> logits [N,num_classes]. Needs num_classes > 0.
  torch::Tensor forward(torch::Tensor x);
  // ForwardFeatures: float [N,3,H,W] -> the last stage's feature map [N,C,ceil(H/32),ceil(W/32)]
  // (with torchvision's stem; a small-input stem divides by 8 or 16 instead). A one-channel stem
  // (Stem::in_channels 1) takes the mean of the three channels, or [N,1,H,W] as it is.
  torch::Tensor ForwardFeatures(torch::Tensor x);
  // FeatureChannels: C above (512 for BasicBlock ResNets, 2048 for Bottleneck ones).
  int64_t FeatureChannels() const { return feature_channels_; }

  torch::nn::Conv2d conv1{nullptr};
  SyncBatchNorm bn1{nullptr};
  torch::nn::MaxPool2d maxpool{nullptr};  // empty without the stem's max-pool
  torch::nn::Sequential layer1{nullptr}, layer2{nullptr}, layer3{nullptr}, layer4{nullptr};
  torch::nn::Linear fc{nullptr};

 private:
  torch::nn::Sequential MakeLayer(bool bottleneck, int64_t planes, int64_t blocks, int64_t stride);

  int64_t inplanes_ = 64;
  int64_t feature_channels_ = 0;
};
TORCH_MODULE(ResNet);

// MakeResNet builds a torchvision architecture by name ("resnet18" ... "resnet152", see
// models/architectures.h), initialised as torchvision does (Kaiming-normal fan_out convolutions,
// BatchNorm weight 1 and bias 0), with `stem`. Throws c10::Error for an unknown name.
ResNet MakeResNet(const std::string& architecture, int64_t num_classes, Stem stem = Stem());

// MakeShapedResNet builds a BasicBlock ResNet of any size (architecture "resnet" with model.shape):
// blocks[i] blocks of widths[i] planes in stage i (1 to 4 stages, the first of stride 1, the others
// of stride 2), initialised as torchvision's are.
ResNet MakeShapedResNet(std::vector<int64_t> blocks, std::vector<int64_t> widths,
                        int64_t num_classes, Stem stem = Stem());

// ZeroInitResiduals sets the weight of every residual block's last BatchNorm (bn2 of a BasicBlock,
// bn3 of a Bottleneck) to 0, as torchvision's zero_init_residual=True: each block then starts as
// its shortcut, an identity where the shapes match.
void ZeroInitResiduals(ResNetImpl& net);

}  // namespace malaria::models

#endif  // MALARIA_MODELS_RESNET_H_
