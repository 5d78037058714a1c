#include "models/flops.h"

#include <ATen/record_function.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "models/classifier.h"

namespace malaria::models {
namespace {

// The live counters of this thread, innermost last, and the callback that feeds them.
thread_local std::vector<int64_t*>* active = nullptr;
thread_local at::CallbackHandle handle = 0;

int64_t Numel(const c10::IntArrayRef sizes) {
  int64_t n = 1;
  for (int64_t s : sizes) n *= s;
  return n;
}

// aten::convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding,
// groups): 2 x (output elements) x (input channels per group x kernel elements).
int64_t ConvolutionFlops(c10::ArrayRef<const c10::IValue> in) {
  if (in.size() < 9 || !in[0].isTensor() || !in[1].isTensor()) return 0;
  const at::Tensor& x = in[0].toTensor();
  const at::Tensor& w = in[1].toTensor();
  const std::vector<int64_t> stride = in[3].toIntVector(), padding = in[4].toIntVector(),
                             dilation = in[5].toIntVector();
  const bool transposed = in[6].toBool();
  const int64_t groups = in[8].toInt();
  const int64_t spatial = x.dim() - 2;
  int64_t out_elements = x.size(0);
  int64_t kernel = 1;
  for (int64_t d = 0; d < spatial; ++d) kernel *= w.size(2 + d);
  if (transposed) {
    // Each input element is scattered over the kernel into out-channels-per-group outputs.
    return 2 * Numel(x.sizes()) * w.size(1) * kernel;
  }
  out_elements *= w.size(0);
  for (int64_t d = 0; d < spatial; ++d) {
    const auto at = [](const std::vector<int64_t>& v, int64_t i) {
      return v.size() == 1 ? v[0] : v[i];
    };
    const int64_t extent = at(dilation, d) * (w.size(2 + d) - 1) + 1;
    out_elements *= (x.size(2 + d) + 2 * at(padding, d) - extent) / at(stride, d) + 1;
  }
  return 2 * out_elements * (x.size(1) / groups) * kernel;
}

// mm(a [M,K], b [K,N]), addmm(bias, a, b), bmm(a [B,M,K], b [B,K,N]): 2 x M x K x N (x B).
int64_t MatmulFlops(c10::ArrayRef<const c10::IValue> in, size_t first) {
  if (in.size() < first + 2 || !in[first].isTensor() || !in[first + 1].isTensor()) return 0;
  const at::Tensor& a = in[first].toTensor();
  const at::Tensor& b = in[first + 1].toTensor();
  return 2 * Numel(a.sizes()) * b.size(-1);
}

std::unique_ptr<at::ObserverContext> OnOperator(const at::RecordFunction& fn) {
  if (active == nullptr || active->empty()) return nullptr;
  const char* name = fn.name();
  int64_t flops = 0;
  if (std::strcmp(name, "aten::convolution") == 0) {
    flops = ConvolutionFlops(fn.inputs());
  } else if (std::strcmp(name, "aten::addmm") == 0) {
    flops = MatmulFlops(fn.inputs(), 1);
  } else if (std::strcmp(name, "aten::mm") == 0 || std::strcmp(name, "aten::bmm") == 0) {
    flops = MatmulFlops(fn.inputs(), 0);
  }
  for (int64_t* count : *active) *count += flops;
  return nullptr;
}

}  // namespace

FlopCounter::FlopCounter() {
  if (active == nullptr) active = new std::vector<int64_t*>();
  if (active->empty()) {
    handle = at::addThreadLocalCallback(at::RecordFunctionCallback(&OnOperator)
                                            .needsInputs(true)
                                            .scopes({at::RecordScope::FUNCTION}));
  }
  active->push_back(&flops_);
}

FlopCounter::~FlopCounter() {
  active->erase(std::find(active->begin(), active->end(), &flops_));
  if (active->empty()) at::removeCallback(handle);
}

int64_t CountFlops(const std::function<void()>& run) {
  FlopCounter counter;
  run();
  return counter.flops();
}

int64_t ForwardFlopsPerImage(ClassifierImpl& model, const std::vector<int64_t>& chw) {
  const bool was_training = model.is_training();
  model.eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor first = model.parameters().front();
  std::vector<int64_t> shape = {1};
  shape.insert(shape.end(), chw.begin(), chw.end());
  const torch::Tensor x = torch::zeros(shape, first.options().requires_grad(false));
  struct Restore {
    ClassifierImpl& model;
    bool training;
    ~Restore() { model.train(training); }
  } restore{model, was_training};
  return CountFlops([&] { model.forward(x); });
}

}  // namespace malaria::models
