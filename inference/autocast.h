// LibTorch's autocast for one scope: the forward passes inside it run in bfloat16 or float16
// where the operator allows (convolutions, matrix products), the rest in float32.
//
//   {
//     inference::AutocastScope bf16(torch::kCPU, torch::kBFloat16);
//     logits = model->forward(images).to(torch::kFloat);
//   }  // autocast off again, its cast weights dropped
#ifndef MALARIA_INFERENCE_AUTOCAST_H_
#define MALARIA_INFERENCE_AUTOCAST_H_

#include <c10/core/DeviceType.h>
#include <c10/core/ScalarType.h>

namespace malaria::inference {

class AutocastScope {
 public:
  // Autocast to `dtype` (kBFloat16 or kHalf) on `device`'s kind (the CPU, or CUDA for any other);
  // kFloat: nothing.
  AutocastScope(c10::DeviceType device, c10::ScalarType dtype);
  ~AutocastScope() { Off(); }
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

  // Off turns autocast off now (the destructor then does nothing); its cache is cleared when this
  // was the outermost scope.
  void Off();
  bool on() const { return on_; }

 private:
  c10::DeviceType device_;
  bool on_ = false;
};

}  // namespace malaria::inference

#endif  // MALARIA_INFERENCE_AUTOCAST_H_
