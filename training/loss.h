// The training loss (training.loss): cross-entropy, with label smoothing, against a step's labels,
// and against mixup's pair of labels when the step has them (training/mixup.h).
//
//   absl::StatusOr<Loss> loss = BuildLoss(config.training());
//   step.loss = (*loss)(step.logits, step);
#ifndef MALARIA_TRAINING_LOSS_H_
#define MALARIA_TRAINING_LOSS_H_

#include <torch/types.h>

#include "absl/status/statusor.h"
#include "training/step.h"
#include "training/training_config.pb.h"

namespace malaria::training {

class Loss {
 public:
  // With LossConfig's defaults (no label smoothing).
  Loss() : Loss(LossConfig::default_instance().label_smoothing()) {}
  // With targets smoothed by `label_smoothing`.
  explicit Loss(double label_smoothing) : label_smoothing_(label_smoothing) {}

  // operator() returns the mean over the batch of lambda_i * CE(logits_i, label_i) +
  // (1 - lambda_i) * CE(logits_i, partner_i), just CE(logits_i, label_i) without mixup, each CE
  // with targets smoothed as PyTorch's label_smoothing does (the true class 1 - s + s / C, every
  // class s / C). logits float or double [N, C]; half-precision logits are taken as float.
  torch::Tensor operator()(const torch::Tensor& logits, const StepTensors& step) const;

  double label_smoothing() const { return label_smoothing_; }

 private:
  double label_smoothing_;
};

// BuildLoss returns the loss training.loss describes; InvalidArgument naming
// training.loss.label_smoothing outside [0, 1).
absl::StatusOr<Loss> BuildLoss(const TrainingConfig& config);

}  // namespace malaria::training

#endif  // MALARIA_TRAINING_LOSS_H_
