#include "training/loss.h"

#include <torch/nn/functional/loss.h>

#include "absl/strings/str_cat.h"

namespace malaria::training {

namespace F = torch::nn::functional;

torch::Tensor Loss::operator()(const torch::Tensor& given, const StepTensors& step) const {
  const torch::Tensor logits =
      given.scalar_type() == torch::kDouble ? given : given.to(torch::kFloat);
  if (!step.lambda.defined()) {
    return F::cross_entropy(logits, step.labels,
                            F::CrossEntropyFuncOptions().label_smoothing(label_smoothing_));
  }
  const auto per_image =
      F::CrossEntropyFuncOptions().label_smoothing(label_smoothing_).reduction(torch::kNone);
  const torch::Tensor own = F::cross_entropy(logits, step.labels, per_image);
  const torch::Tensor partner = F::cross_entropy(logits, step.partners, per_image);
  return (step.lambda * own + (1 - step.lambda) * partner).mean();
}

absl::StatusOr<Loss> BuildLoss(const TrainingConfig& config) {
  const double s = config.loss().label_smoothing();
  if (!(s >= 0 && s < 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("training.loss.label_smoothing: must be in [0, 1), got ", s));
  }
  return Loss(s);
}

}  // namespace malaria::training
