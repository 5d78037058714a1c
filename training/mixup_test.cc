#include "training/mixup.h"

#include <torch/torch.h>

#include "gtest/gtest.h"

namespace malaria::training {
namespace {

TEST(MixupTest, EachImageIsMostlyItselfAndTheSameSeedMixesTheSameWay) {
  torch::manual_seed(0);
  const torch::Tensor images = torch::randn({16, 3, 4, 4});
  const torch::Tensor labels = torch::tensor({0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1});
  auto mix = [&](uint64_t seed) {
    StepTensors step;
    step.images = images;
    step.labels = labels;
    Mixup(&step, 0.4, seed);
    return step;
  };
  const StepTensors a = mix(123);
  const StepTensors b = mix(123);
  EXPECT_TRUE(torch::equal(a.images, b.images));
  EXPECT_TRUE(torch::equal(a.lambda, b.lambda));
  EXPECT_FALSE(torch::equal(a.lambda, mix(124).lambda));
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

}  // namespace
}  // namespace malaria::training
