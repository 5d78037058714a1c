// The BatchNorm layer of the model zoo (1d and 2d): torch::nn::BatchNorm's parameters, buffers,
// state_dict names (weight, bias, running_mean, running_var, num_batches_tracked) and forward, and
// statistics that can be combined across data-parallel processes (PyTorch's SyncBatchNorm, on
// the CPU too). With a StatsReducer, training-mode batches are normalised with the mean and
// variance of the batch over every process, and the running statistics follow those.
//
//   SetStatsReducer(*model, reducer);   // training/data_parallel.h makes one over c10d
//   SetStatsReducer(*model, nullptr);   // back to per-process statistics
#ifndef MALARIA_MODELS_SYNC_BATCH_NORM_H_
#define MALARIA_MODELS_SYNC_BATCH_NORM_H_

#include <torch/nn/cloneable.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <memory>
#include <ostream>

namespace malaria::models {

// Sums a tensor over every process, differentiably: the gradient of the sum is the sum of the
// processes' gradients.
class StatsReducer {
 public:
  virtual ~StatsReducer() = default;
  virtual torch::Tensor AllReduceSum(const torch::Tensor& t) = 0;
};

// BatchNorm over dimension 1 of [N, C] or [N, C, H, W] inputs (torch's defaults: eps 1e-5,
// momentum 0.1, affine, tracking running statistics).
class SyncBatchNormImpl : public torch::nn::Cloneable<SyncBatchNormImpl> {
 public:
  explicit SyncBatchNormImpl(int64_t num_features, double eps = 1e-5, double momentum = 0.1);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& input);
  void pretty_print(std::ostream& stream) const override;

  int64_t num_features;
  double eps, momentum;
  torch::Tensor weight, bias, running_mean, running_var, num_batches_tracked;
  std::shared_ptr<StatsReducer> reducer;  // nullptr: this process's statistics only
};
TORCH_MODULE(SyncBatchNorm);

// SetStatsReducer gives every SyncBatchNorm layer under `root` the reducer (nullptr: none).
void SetStatsReducer(torch::nn::Module& root, std::shared_ptr<StatsReducer> reducer);

}  // namespace malaria::models

#endif  // MALARIA_MODELS_SYNC_BATCH_NORM_H_
