// Counting a model's arithmetic: the floating-point operations of the convolutions and matrix
// products a forward pass runs, from the operators LibTorch dispatches (so every module of the
// model as built counts, whatever its class).
//
//   int64_t flops = CountFlops([&] { model->forward(x); });   // 2 per multiply-add
//   double per_image = ForwardFlopsPerImage(*model, {3, 50, 50});
//
// The convention is the one speed-run and model-zoo tables use: a multiply-add is 2 FLOPs;
// convolutions (aten::convolution) and matrix products (addmm, mm, bmm) count; BatchNorm,
// activations, pooling and additions (a few percent of a ResNet's work) do not. torchvision's
// documented 1.81 "GFLOPS" for resnet18 at 224 px are multiply-adds: 3.63 GFLOP here.
#ifndef MALARIA_MODELS_FLOPS_H_
#define MALARIA_MODELS_FLOPS_H_

#include <cstdint>
#include <functional>
#include <vector>

namespace torch::nn {
class Module;
}

namespace malaria::models {

class ClassifierImpl;

// FlopCounter counts, from its construction to its destruction, the FLOPs of the convolutions
// and matrix products dispatched on the thread that made it (see above). Counters nest: each
// counts what ran while it lived. Counting boxes every operator's arguments: a few microseconds
// per operator, so count a forward pass or a validation, not every training step.
class FlopCounter {
 public:
  FlopCounter();
  ~FlopCounter();
  FlopCounter(const FlopCounter&) = delete;
  FlopCounter& operator=(const FlopCounter&) = delete;
  int64_t flops() const { return flops_; }

 private:
  int64_t flops_ = 0;
};

// CountFlops runs `run` and returns what a FlopCounter around it counts.
int64_t CountFlops(const std::function<void()>& run);

// ForwardFlopsPerImage returns the FLOPs of `model`'s forward pass on one image of shape
// `chw` ({channels, height, width}), counted on a zero image on the model's device in eval mode
// without gradients; the model's mode is restored and nothing in it changes.
int64_t ForwardFlopsPerImage(ClassifierImpl& model, const std::vector<int64_t>& chw);

}  // namespace malaria::models

#endif  // MALARIA_MODELS_FLOPS_H_
