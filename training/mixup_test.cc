#include "training/mixup.h"

#include <torch/torch.h>

#include <cmath>

#include "gtest/gtest.h"

namespace malaria::training {
namespace {

TEST(MixupTest, EachImageIsMostlyItselfAndTheSameSeedMixesTheSameWay) {
  torch::manual_seed(0);
  const torch::Tensor images = torch::randn({16, 3, 4, 4});
  const torch::Tensor labels = torch::tensor({0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1});
  const MixedBatch a = Mixup(images, labels, 0.4, 123);
  const MixedBatch b = Mixup(images, labels, 0.4, 123);
  EXPECT_TRUE(torch::equal(a.images, b.images));
  EXPECT_TRUE(torch::equal(a.lambda, b.lambda));
  EXPECT_FALSE(torch::equal(a.lambda, Mixup(images, labels, 0.4, 124).lambda));
  ASSERT_EQ(a.lambda.size(0), 16);
  EXPECT_TRUE((a.lambda >= 0.5).all().item<bool>());
  EXPECT_TRUE((a.lambda <= 1).all().item<bool>());
  // Recover each image's partner from its label and check the mix exactly.
  for (int64_t i = 0; i < 16; ++i) {
    const float l = a.lambda[i].item<float>();
    bool found = false;
    for (int64_t j = 0; j < 16 && !found; ++j) {
      const torch::Tensor expected = images[i] * l + images[j] * (1 - l);
      if (torch::allclose(a.images[i], expected, 1e-5, 1e-6)) {
        found = true;
        EXPECT_EQ(a.partners[i].item<int64_t>(), labels[j].item<int64_t>());
      }
    }
    EXPECT_TRUE(found) << "image " << i << " is not a mix of two batch images";
  }
  EXPECT_TRUE(torch::equal(a.labels, labels));
}

// The loss against its closed form: lambda CE(own) + (1 - lambda) CE(partner), each CE with
// smoothed targets (1 - s + s / C on the class, s / C elsewhere).
TEST(MixupTest, MixedCrossEntropyMatchesTheClosedForm) {
  const torch::Tensor logits = torch::tensor({{2.0, 0.0}, {0.5, 1.5}, {-1.0, 1.0}});
  MixedBatch batch;
  batch.labels = torch::tensor({0, 1, 1});
  batch.partners = torch::tensor({1, 1, 0});
  batch.lambda = torch::tensor({0.75f, 1.0f, 0.6f});
  const double s = 0.1, classes = 2;
  auto ce = [&](int row, int target) {
    const double z0 = logits[row][0].item<double>(), z1 = logits[row][1].item<double>();
    const double lse = std::log(std::exp(z0) + std::exp(z1));
    const double logp[2] = {z0 - lse, z1 - lse};
    double loss = 0;
    for (int k = 0; k < 2; ++k) {
      const double q = (k == target ? 1 - s : 0) + s / classes;
      loss -= q * logp[k];
    }
    return loss;
  };
  const double expected = (0.75 * ce(0, 0) + 0.25 * ce(0, 1) + 1.0 * ce(1, 1) + 0 * ce(1, 1) +
                           0.6 * ce(2, 1) + 0.4 * ce(2, 0)) /
                          3;
  EXPECT_NEAR(MixedCrossEntropy(logits, batch, s).item<double>(), expected, 1e-6);
  // Without mixup and without smoothing: plain cross-entropy.
  const MixedBatch plain = NotMixed(torch::zeros({3}), batch.labels);
  const double plain_expected = (ce(0, 0) + ce(1, 1) + ce(2, 1)) / 3;
  EXPECT_NEAR(MixedCrossEntropy(logits, plain, s).item<double>(), plain_expected, 1e-6);
  EXPECT_NEAR(MixedCrossEntropy(logits, plain, 0).item<double>(),
              torch::nn::functional::cross_entropy(logits, batch.labels).item<double>(), 1e-7);
}

}  // namespace
}  // namespace malaria::training
