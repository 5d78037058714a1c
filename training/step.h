// The tensors of one training step, which the learner and its callbacks share from OnBatchBegin
// to OnBatchEnd (FitState::step), and the loss computed from them.
//
//   StepTensors step = learner.Inputs(batch);        // images and labels on the device
//   step.logits = model->forward(step.images);
//   step.loss = loss(step.logits, step);             // training/loss.h
#ifndef MALARIA_TRAINING_STEP_H_
#define MALARIA_TRAINING_STEP_H_

#include <torch/types.h>

namespace malaria::training {

struct StepTensors {
  // [N,C,H,W] on the learner's device, in the model's floating-point type and memory layout;
  // OnBatchBegin may replace them (mixup).
  torch::Tensor images;
  torch::Tensor labels;  // long [N]
  // Mixup's second targets: image i is lambda[i] of itself and 1 - lambda[i] of an image whose
  // label is partners[i] (long [N]; lambda float [N] in [0.5, 1]). Undefined without mixup.
  torch::Tensor partners;
  torch::Tensor lambda;
  torch::Tensor logits;  // [N, classes], after the forward pass
  torch::Tensor loss;    // scalar, after the loss; OnBackwardBegin may scale it
};

}  // namespace malaria::training

#endif  // MALARIA_TRAINING_STEP_H_
