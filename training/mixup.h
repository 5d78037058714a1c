// The training loss of a batch: cross-entropy, with label smoothing and fastai v1's mixup when a
// run asks for them.
//
//   MixedBatch mixed = Mixup(images, labels, /*alpha=*/0.4, data::MixSeed(seed, stream, batch));
//   torch::Tensor loss = MixedCrossEntropy(model->forward(mixed.images), mixed, /*smoothing=*/0.1);
#ifndef MALARIA_TRAINING_MIXUP_H_
#define MALARIA_TRAINING_MIXUP_H_

#include <torch/types.h>

#include <cstdint>

namespace malaria::training {

// A batch after mixup: image i is lambda[i] of itself and 1 - lambda[i] of image partner[i].
struct MixedBatch {
  torch::Tensor images;    // as given, mixed
  torch::Tensor labels;    // long [N], of the images themselves
  torch::Tensor partners;  // long [N]: labels[partner[i]]; undefined without mixup
  torch::Tensor lambda;    // float [N] in [0.5, 1]; undefined without mixup
};

// Mixup is fastai v1's MixUpCallback (stack_y): a random pairing of the batch (partner[i] =
// perm[i]) and, per image, l ~ Beta(alpha, alpha), lambda = max(l, 1 - l) so each image stays the
// larger part of its mix; images = lambda * x + (1 - lambda) * x[perm]. Draws come from `seed`
// alone (data::Rng), so a batch mixes the same way on every run and every resume.
MixedBatch Mixup(const torch::Tensor& images, const torch::Tensor& labels, double alpha,
                 uint64_t seed);

// NotMixed wraps a batch that is not mixed.
MixedBatch NotMixed(const torch::Tensor& images, const torch::Tensor& labels);

// MixedCrossEntropy returns the mean over the batch of lambda_i * CE(logits_i, label_i) +
// (1 - lambda_i) * CE(logits_i, partner_i) (just CE without mixup), each CE with targets smoothed
// by `label_smoothing`: the true class 1 - s + s / C, every class s / C (PyTorch's).
// logits float [N, C].
torch::Tensor MixedCrossEntropy(const torch::Tensor& logits, const MixedBatch& batch,
                                double label_smoothing);

}  // namespace malaria::training

#endif  // MALARIA_TRAINING_MIXUP_H_
