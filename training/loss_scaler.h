// Dynamic loss scaling for float16 mixed precision (what torch.cuda.amp.GradScaler does): the loss
// is multiplied by a large scale before backward so small gradients survive float16; gradients are
// divided back before the optimizer step; a step whose gradients overflowed is skipped and the
// scale halved; after `growth_interval` good steps the scale doubles.
//
//   DynamicLossScaler scaler;
//   scaler.Scale(loss).backward();
//   if (scaler.UnscaleAndCheck(params)) optimizer.step();   // false: skip this step
#ifndef MALARIA_TRAINING_LOSS_SCALER_H_
#define MALARIA_TRAINING_LOSS_SCALER_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace malaria::training {

class DynamicLossScaler {
 public:
  explicit DynamicLossScaler(double initial_scale = 65536.0, double growth_factor = 2.0,
                             double backoff_factor = 0.5, int growth_interval = 2000);

  // Scale returns loss * scale().
  at::Tensor Scale(const at::Tensor& loss) const;

  // UnscaleAndCheck divides the defined gradients of `params` by scale() and returns true when all
  // are finite. Otherwise it returns false (the step must be skipped) and backs the scale off.
  // Either way it updates the scale for the next step.
  bool UnscaleAndCheck(const std::vector<at::Tensor>& params);

  double scale() const { return scale_; }
  int64_t skipped_steps() const { return skipped_; }

 private:
  double scale_;
  double growth_factor_;
  double backoff_factor_;
  int growth_interval_;
  int good_steps_ = 0;
  int64_t skipped_ = 0;
};

}  // namespace malaria::training

#endif  // MALARIA_TRAINING_LOSS_SCALER_H_
