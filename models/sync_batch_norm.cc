#include "models/sync_batch_norm.h"

#include <ATen/Context.h>
#include <torch/torch.h>

#include <algorithm>
#include <vector>

namespace malaria::models {

SyncBatchNormImpl::SyncBatchNormImpl(int64_t num_features, double eps, double momentum)
    : num_features(num_features), eps(eps), momentum(momentum) {
  reset();
}

void SyncBatchNormImpl::reset() {
  weight = register_parameter("weight", torch::ones({num_features}));
  bias = register_parameter("bias", torch::zeros({num_features}));
  running_mean = register_buffer("running_mean", torch::zeros({num_features}));
  running_var = register_buffer("running_var", torch::ones({num_features}));
  num_batches_tracked = register_buffer("num_batches_tracked", torch::zeros({}, torch::kLong));
}

void SyncBatchNormImpl::pretty_print(std::ostream& stream) const {
  stream << "SyncBatchNorm(" << num_features << ", eps=" << eps << ", momentum=" << momentum << ")";
}

torch::Tensor SyncBatchNormImpl::forward(const torch::Tensor& x) {
  TORCH_CHECK(x.dim() >= 2 && x.size(1) == num_features, "SyncBatchNorm(", num_features,
              ") got an input of shape ", x.sizes());
  if (is_training()) {
    torch::NoGradGuard no_grad;
    num_batches_tracked.add_(1);
  }
  if (reducer == nullptr || !is_training()) {
    // What torch::nn::BatchNorm{1,2}d runs.
    return torch::batch_norm(x, weight, bias, running_mean, running_var, is_training(), momentum,
                             eps, at::globalContext().userEnabledCuDNN());
  }
  // Per channel, the sum and the sum of squares of (x - shift) and the count of values, all-reduced
  // as one tensor. The shift (the running mean, the same in every process) keeps the variance
  // E[d^2] - E[d]^2 from cancelling away its digits.
  std::vector<int64_t> dims = {0}, shape = {1, num_features};
  for (int64_t d = 2; d < x.dim(); ++d) {
    dims.push_back(d);
    shape.push_back(1);
  }
  // In float32 at least (float64 for a float64 model).
  const torch::ScalarType type = at::promote_types(x.scalar_type(), torch::kFloat);
  const torch::Tensor xf = x.to(type);
  const torch::Tensor shift = running_mean.detach().to(type).view(shape);
  const torch::Tensor d = xf - shift;
  const double count = static_cast<double>(x.numel() / num_features);
  torch::Tensor stats =
      torch::cat({d.sum(dims), (d * d).sum(dims), torch::full({1}, count, xf.options())});
  stats = reducer->AllReduceSum(stats);
  const torch::Tensor total = stats.narrow(0, 2 * num_features, 1);
  const torch::Tensor mean_d = stats.narrow(0, 0, num_features) / total;
  const torch::Tensor var =
      (stats.narrow(0, num_features, num_features) / total - mean_d * mean_d).clamp_min(0);
  const torch::Tensor mean = mean_d + shift.view({num_features});
  {
    torch::NoGradGuard no_grad;
    const double n = total.item<double>();
    running_mean.mul_(1 - momentum).add_(mean.detach().to(running_mean.dtype()), momentum);
    running_var.mul_(1 - momentum)
        .add_((var.detach() * (n / std::max(1.0, n - 1))).to(running_var.dtype()), momentum);
  }
  const torch::Tensor y = (xf - mean.view(shape)) * torch::rsqrt(var.view(shape) + eps);
  return (y * weight.view(shape) + bias.view(shape)).to(x.scalar_type());
}

void SetStatsReducer(torch::nn::Module& root, std::shared_ptr<StatsReducer> reducer) {
  for (const auto& module : root.modules(/*include_self=*/true)) {
    if (auto* bn = module->as<SyncBatchNormImpl>()) bn->reducer = reducer;
  }
}

}  // namespace malaria::models
