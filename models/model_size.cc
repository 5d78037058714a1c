#include "models/model_size.h"

#include <vector>

#include "models/architectures.h"
#include "models/model_config.h"

namespace malaria::models {
namespace {

// A convolution's output side: floor((in + 2 * pad - kernel) / stride) + 1.
int64_t ConvSide(int64_t in, int64_t kernel, int64_t stride, int64_t pad) {
  return (in + 2 * pad - kernel) / stride + 1;
}

struct Counter {
  ModelSize size;
  int64_t side = 0;  // the feature map's height and width

  // A bias-free convolution (the body's) followed by its BatchNorm (weight and bias).
  void ConvBn(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t out_side) {
    size.parameters += double(in) * out * kernel * kernel + 2.0 * out;
    size.conv_outputs_per_image += double(out) * out_side * out_side;
  }
};

}  // namespace

ModelSize EstimateModelSize(const ModelConfig& config, int image_size, int num_classes) {
  Counter c;
  std::vector<int64_t> widths = {64, 128, 256, 512}, blocks;
  const std::string& arch = config.architecture();
  bool bottleneck = false;
  if (arch == kShapedResNet) {
    widths.assign(config.shape().widths().begin(), config.shape().widths().end());
    blocks.assign(config.shape().blocks().begin(), config.shape().blocks().end());
  } else if (arch == "resnet18") {
    blocks = {2, 2, 2, 2};
  } else if (arch == "resnet34") {
    blocks = {3, 4, 6, 3};
  } else if (arch == "resnet50") {
    blocks = {3, 4, 6, 3};
    bottleneck = true;
  } else if (arch == "resnet101") {
    blocks = {3, 4, 23, 3};
    bottleneck = true;
  } else if (arch == "resnet152") {
    blocks = {3, 8, 36, 3};
    bottleneck = true;
  }
  if (widths.empty() || blocks.size() != widths.size()) return c.size;

  // The stem (models/resnet.cc): a k x k convolution (2 k^2 c whitening filters, or the first
  // stage's width), its BatchNorm, maybe the 3x3 stride-2 max-pool.
  const StemConfig& stem = config.stem();
  const int64_t k = stem.kernel_size();
  const int64_t stem_channels =
      stem.whiten() ? 2 * k * k * config.input_channels() : widths.front();
  c.side = ConvSide(image_size, k, stem.stride(), k / 2);
  c.ConvBn(config.input_channels(), stem_channels, k, stem.stride(), c.side);
  if (stem.max_pool()) c.side = ConvSide(c.side, 3, 2, 1);

  const int64_t expansion = bottleneck ? 4 : 1;
  int64_t inplanes = stem_channels;
  for (size_t stage = 0; stage < widths.size(); ++stage) {
    const int64_t planes = widths[stage];
    for (int64_t b = 0; b < blocks[stage]; ++b) {
      const int64_t stride = stage > 0 && b == 0 ? 2 : 1;
      const int64_t in_side = c.side;
      const int64_t out_side = ConvSide(in_side, 3, stride, 1);
      if (bottleneck) {
        c.ConvBn(inplanes, planes, 1, 1, in_side);
        c.ConvBn(planes, planes, 3, stride, out_side);
        c.ConvBn(planes, planes * expansion, 1, 1, out_side);
      } else {
        c.ConvBn(inplanes, planes, 3, stride, out_side);
        c.ConvBn(planes, planes, 3, 1, out_side);
      }
      if (b == 0 && (stride != 1 || inplanes != planes * expansion)) {
        c.ConvBn(inplanes, planes * expansion, 1, stride, out_side);
      }
      inplanes = planes * expansion;
      c.side = out_side;
    }
  }

  c.size.feature_side = c.side;
  // The head (models/classifier.cc MakeHead).
  HeadConfig head = config.head();
  FillHeadDefaults(&head);
  const double pooled = (head.concat_pool() ? 2.0 : 1.0) * inplanes;
  if (head.kind() == HeadConfig::LINEAR) {
    c.size.parameters += pooled * num_classes + num_classes;
  } else {
    std::vector<double> features = {pooled};
    for (int h : head.hidden_features()) features.push_back(h);
    features.push_back(num_classes);
    for (size_t i = 0; i + 1 < features.size(); ++i) {
      c.size.parameters += 2 * features[i] + features[i] * features[i + 1] + features[i + 1];
    }
    if (head.bn_final()) c.size.parameters += 2.0 * num_classes;
  }
  return c.size;
}

double TrainingBytes(const ModelSize& size, int batch) {
  return 16.0 * size.parameters + 8.0 * batch * size.conv_outputs_per_image;
}

}  // namespace malaria::models
