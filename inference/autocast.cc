#include "inference/autocast.h"

#include <ATen/autocast_mode.h>

namespace malaria::inference {

AutocastScope::AutocastScope(c10::DeviceType device, c10::ScalarType dtype) : device_(device) {
  if (dtype == c10::kFloat) return;
  if (device_ == c10::kCPU) {
    at::autocast::set_autocast_cpu_dtype(dtype);
    at::autocast::set_cpu_enabled(true);
  } else {
    at::autocast::set_autocast_gpu_dtype(dtype);
    at::autocast::set_enabled(true);
  }
  at::autocast::increment_nesting();
  on_ = true;
}

void AutocastScope::Off() {
  if (!on_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  if (device_ == c10::kCPU) {
    at::autocast::set_cpu_enabled(false);
  } else {
    at::autocast::set_enabled(false);
  }
  on_ = false;
}

}  // namespace malaria::inference
