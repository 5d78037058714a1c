#include "training/mixup.h"

#include <torch/nn/functional/loss.h>
#include <torch/torch.h>

#include <algorithm>
#include <numeric>
#include <vector>

#include "data/random.h"

namespace malaria::training {

namespace F = torch::nn::functional;

MixedBatch NotMixed(const torch::Tensor& images, const torch::Tensor& labels) {
  MixedBatch b;
  b.images = images;
  b.labels = labels;
  return b;
}

MixedBatch Mixup(const torch::Tensor& images, const torch::Tensor& labels, double alpha,
                 uint64_t seed) {
  const int64_t n = images.size(0);
  data::Rng rng(seed);
  std::vector<int64_t> perm(n);
  std::iota(perm.begin(), perm.end(), 0);
  rng.Shuffle(perm);
  std::vector<float> lambda(n);
  for (int64_t i = 0; i < n; ++i) {
    const double l = rng.Beta(alpha, alpha);
    lambda[i] = static_cast<float>(std::max(l, 1 - l));
  }
  const torch::Tensor index = torch::tensor(perm, torch::kLong).to(images.device());
  MixedBatch b;
  b.lambda = torch::tensor(lambda, torch::kFloat).to(images.device());
  std::vector<int64_t> shape(images.dim(), 1);
  shape[0] = n;
  const torch::Tensor l = b.lambda.view(shape).to(images.scalar_type());
  b.images = images * l + images.index_select(0, index) * (1 - l);
  if (images.is_contiguous(torch::MemoryFormat::ChannelsLast)) {
    b.images = b.images.contiguous(torch::MemoryFormat::ChannelsLast);
  }
  b.labels = labels;
  b.partners = labels.index_select(0, index.to(labels.device()));
  return b;
}

torch::Tensor MixedCrossEntropy(const torch::Tensor& logits, const MixedBatch& batch,
                                double label_smoothing) {
  const auto options = F::CrossEntropyFuncOptions().label_smoothing(label_smoothing);
  if (!batch.lambda.defined()) return F::cross_entropy(logits, batch.labels, options);
  const auto per_image =
      F::CrossEntropyFuncOptions().label_smoothing(label_smoothing).reduction(torch::kNone);
  const torch::Tensor own = F::cross_entropy(logits, batch.labels, per_image);
  const torch::Tensor partner = F::cross_entropy(logits, batch.partners, per_image);
  return (batch.lambda * own + (1 - batch.lambda) * partner).mean();
}

}  // namespace malaria::training
