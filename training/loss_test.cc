#include "training/loss.h"

#include <torch/torch.h>

#include <cmath>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "training/training_config.pb.h"

namespace malaria::training {
namespace {

// The loss against its closed form: lambda CE(own) + (1 - lambda) CE(partner), each CE with
// smoothed targets (1 - s + s / C on the class, s / C elsewhere).
TEST(LossTest, MixedTargetsWithLabelSmoothingMatchTheClosedForm) {
  const torch::Tensor logits = torch::tensor({{2.0, 0.0}, {0.5, 1.5}, {-1.0, 1.0}});
  StepTensors batch;
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
  EXPECT_NEAR(Loss(s)(logits, batch).item<double>(), expected, 1e-6);
  // Without mixup: cross-entropy with smoothed targets; without smoothing (the default) PyTorch's.
  StepTensors plain;
  plain.labels = batch.labels;
  const double plain_expected = (ce(0, 0) + ce(1, 1) + ce(2, 1)) / 3;
  EXPECT_NEAR(Loss(s)(logits, plain).item<double>(), plain_expected, 1e-6);
  EXPECT_NEAR(Loss()(logits, plain).item<double>(),
              torch::nn::functional::cross_entropy(logits, batch.labels).item<double>(), 1e-7);
  // float64 logits keep float64.
  EXPECT_EQ(Loss()(logits.to(torch::kDouble), plain).scalar_type(), torch::kDouble);
}

TEST(LossTest, BuildLossTakesTheConfigAndRefusesAnOutOfRangeSmoothing) {
  TrainingConfig config;
  EXPECT_EQ(BuildLoss(config)->label_smoothing(), 0);
  config.mutable_loss()->set_label_smoothing(0.1);
  EXPECT_EQ(BuildLoss(config)->label_smoothing(), 0.1);
  config.mutable_loss()->set_label_smoothing(1);
  const absl::Status s = BuildLoss(config).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("training.loss.label_smoothing"), std::string::npos) << s;
}

}  // namespace
}  // namespace malaria::training
