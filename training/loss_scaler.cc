#include "training/loss_scaler.h"

#include <ATen/ATen.h>

namespace malaria::training {

DynamicLossScaler::DynamicLossScaler(double initial_scale, double growth_factor,
                                     double backoff_factor, int growth_interval)
    : scale_(initial_scale),
      growth_factor_(growth_factor),
      backoff_factor_(backoff_factor),
      growth_interval_(growth_interval) {}

at::Tensor DynamicLossScaler::Scale(const at::Tensor& loss) const { return loss * scale_; }

bool DynamicLossScaler::UnscaleAndCheck(const std::vector<at::Tensor>& params) {
  bool finite = true;
  for (const at::Tensor& p : params) {
    const at::Tensor& g = p.grad();
    if (!g.defined()) continue;
    if (!at::isfinite(g).all().item<bool>()) {
      finite = false;
      break;
    }
  }
  if (!finite) {
    scale_ *= backoff_factor_;
    good_steps_ = 0;
    ++skipped_;
    return false;
  }
  const double inverse = 1.0 / scale_;
  for (const at::Tensor& p : params) {
    at::Tensor g = p.grad();
    if (g.defined()) g.mul_(inverse);
  }
  if (++good_steps_ >= growth_interval_) {
    scale_ *= growth_factor_;
    good_steps_ = 0;
  }
  return true;
}

}  // namespace malaria::training
