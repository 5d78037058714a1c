#include "training/data_parallel.h"

#include <torch/torch.h>

#include <algorithm>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "training/ingredient.h"

namespace malaria::training {

GradientSync::GradientSync(Distributed* dist, std::vector<torch::Tensor> params,
                           int64_t bucket_bytes)
    : dist_(dist), params_(std::move(params)) {
  // Reverse order: the head's gradients come first in the backward pass.
  Bucket current;
  int64_t bytes = 0;
  auto close = [&] {
    if (current.params.empty()) return;
    const int64_t total = current.offsets.back() + params_[current.params.back()].numel();
    current.flat = torch::zeros({total}, params_[current.params[0]].options());
    current.ready.assign(current.params.size(), false);
    current.pending = static_cast<int>(current.params.size());
    buckets_.push_back(std::move(current));
    current = Bucket();
    bytes = 0;
  };
  for (int i = static_cast<int>(params_.size()) - 1; i >= 0; --i) {
    const int64_t offset = current.params.empty()
                               ? 0
                               : current.offsets.back() + params_[current.params.back()].numel();
    current.params.push_back(i);
    current.offsets.push_back(offset);
    bytes += params_[i].numel() * static_cast<int64_t>(params_[i].element_size());
    if (bytes >= bucket_bytes) close();
  }
  close();
  for (int b = 0; b < static_cast<int>(buckets_.size()); ++b) {
    for (int s = 0; s < static_cast<int>(buckets_[b].params.size()); ++s) {
      torch::Tensor& p = params_[buckets_[b].params[s]];
      hooks_.push_back(
          p.register_hook([this, b, s](const torch::Tensor& grad) { OnGradient(b, s, grad); }));
    }
  }
}

GradientSync::~GradientSync() {
  size_t h = 0;
  for (const Bucket& bucket : buckets_) {
    for (int i : bucket.params) params_[i].remove_hook(hooks_[h++]);
  }
}

void GradientSync::OnGradient(int b, int slot, const torch::Tensor& grad) {
  std::lock_guard<std::mutex> lock(mu_);
  Bucket& bucket = buckets_[b];
  const torch::Tensor& p = params_[bucket.params[slot]];
  torch::NoGradGuard no_grad;
  torch::Tensor view = bucket.flat.narrow(0, bucket.offsets[slot], p.numel()).view(p.sizes());
  if (bucket.ready[slot]) {
    view.add_(grad);  // a parameter used twice: gradients accumulate
    return;
  }
  view.copy_(grad);
  bucket.ready[slot] = true;
  if (--bucket.pending == 0) Launch(bucket);
}

void GradientSync::Launch(Bucket& bucket) {
  absl::StatusOr<std::shared_ptr<Distributed::Pending>> work =
      dist_->AllReduceSumAsync(bucket.flat);
  bucket.launched = true;
  if (work.ok()) {
    bucket.work = *std::move(work);
  } else if (failure_.ok()) {
    failure_ = work.status();  // reported by Finish: an autograd hook cannot return it
  }
}

absl::Status GradientSync::Finish() {
  torch::NoGradGuard no_grad;
  std::lock_guard<std::mutex> lock(mu_);
  for (Bucket& bucket : buckets_) {
    if (!bucket.launched) {
      for (size_t s = 0; s < bucket.params.size(); ++s) {
        if (bucket.ready[s]) continue;
        const torch::Tensor& p = params_[bucket.params[s]];
        bucket.flat.narrow(0, bucket.offsets[s], p.numel()).zero_();
      }
      Launch(bucket);
    }
  }
  const double scale = 1.0 / dist_->world_size();
  for (Bucket& bucket : buckets_) {
    bucket.launched = false;
    if (failure_.ok() && bucket.work != nullptr) {
      if (absl::Status s = dist_->Wait(*bucket.work, "the gradient all-reduce"); !s.ok()) {
        failure_ = s;
      }
    }
    if (!failure_.ok()) {
      bucket.work.reset();
      continue;
    }
    bucket.flat.mul_(scale);
    for (size_t s = 0; s < bucket.params.size(); ++s) {
      torch::Tensor& p = params_[bucket.params[s]];
      torch::Tensor mean = bucket.flat.narrow(0, bucket.offsets[s], p.numel()).view(p.sizes());
      if (p.grad().defined()) {
        p.mutable_grad().copy_(mean);
      } else {
        p.mutable_grad() = mean.clone().contiguous(p.suggest_memory_format());
      }
    }
    bucket.work.reset();
    bucket.pending = static_cast<int>(bucket.params.size());
    std::fill(bucket.ready.begin(), bucket.ready.end(), false);
  }
  absl::Status outcome = failure_;
  failure_ = absl::OkStatus();
  if (!outcome.ok()) {
    for (Bucket& bucket : buckets_) {
      bucket.pending = static_cast<int>(bucket.params.size());
      std::fill(bucket.ready.begin(), bucket.ready.end(), false);
    }
  }
  return outcome;
}

namespace {

// y = sum over processes of x; dx = sum over processes of dy (every process's output depends on
// every process's input).
class AllReduceSumFunction : public torch::autograd::Function<AllReduceSumFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, torch::Tensor x,
                               int64_t dist) {
    ctx->saved_data["dist"] = dist;
    torch::Tensor y = x.detach().clone().contiguous();
    // Inside the forward pass: a failure can only leave as LibTorch's exception (the learner turns
    // it into the run's failure).
    const absl::Status s = reinterpret_cast<Distributed*>(dist)->AllReduceSum(
        y, "the BatchNorm statistics all-reduce");
    TORCH_CHECK(s.ok(), std::string(s.message()));
    return y;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto* dist = reinterpret_cast<Distributed*>(ctx->saved_data["dist"].toInt());
    torch::Tensor g = grads[0].detach().clone().contiguous();
    const absl::Status s = dist->AllReduceSum(g, "the BatchNorm gradient all-reduce");
    TORCH_CHECK(s.ok(), std::string(s.message()));
    return {g, torch::Tensor()};
  }
};

class DistributedStatsReducer : public models::StatsReducer {
 public:
  explicit DistributedStatsReducer(Distributed* dist) : dist_(dist) {}
  torch::Tensor AllReduceSum(const torch::Tensor& t) override {
    return AllReduceSumFunction::apply(t, reinterpret_cast<int64_t>(dist_));
  }

 private:
  Distributed* dist_;
};

}  // namespace

std::shared_ptr<models::StatsReducer> MakeStatsReducer(Distributed* dist) {
  return std::make_shared<DistributedStatsReducer>(dist);
}

absl::Status DistributedSync::OnFitBegin(FitState& state) {
  torch::nn::Module& model = *state.model;
  models::SetStatsReducer(model, sync_batchnorm_ ? MakeStatsReducer(dist_) : nullptr);
  std::vector<torch::Tensor> tensors, trainable;
  {
    torch::NoGradGuard no_grad;
    for (const auto& p : model.parameters()) {
      tensors.push_back(p.detach().contiguous());
      if (p.requires_grad()) trainable.push_back(p);
    }
    for (const auto& b : model.buffers()) tensors.push_back(b.detach().contiguous());
    if (absl::Status s = dist_->Broadcast(tensors, /*root=*/0, "the broadcast of rank 0's weights");
        !s.ok()) {
      return s;
    }
    size_t i = 0;
    for (auto& p : model.parameters()) p.detach().copy_(tensors[i++]);
    for (auto& b : model.buffers()) b.detach().copy_(tensors[i++]);
  }
  gradients_ = std::make_unique<GradientSync>(dist_, std::move(trainable), bucket_bytes_);
  return absl::OkStatus();
}

absl::Status DistributedSync::OnLoss(FitState& state) {
  // Every process reports the mean loss and stops (or skips the step) together.
  torch::Tensor shared =
      torch::tensor({state.loss, state.interrupt_requested ? 1.0 : 0.0}, torch::kDouble);
  if (absl::Status s = dist_->AllReduceSum(shared, "the loss all-reduce"); !s.ok()) return s;
  state.loss = shared[0].item<double>() / dist_->world_size();
  state.interrupt_requested = shared[1].item<double>() > 0;
  return absl::OkStatus();
}

absl::Status DistributedSync::OnBackwardEnd(FitState& state) { return gradients_->Finish(); }

void DistributedSync::OnFitEnd(FitState& state, const absl::Status& outcome) {
  gradients_.reset();  // removes its gradient hooks
}

absl::Status AddGradientSync(const TrainingConfig& config, const IngredientContext& context,
                             std::vector<std::unique_ptr<Callback>>* out) {
  if (context.distributed == nullptr) return absl::OkStatus();
  const DistributedConfig& d = config.distributed();
  if (d.bucket_mib() < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("training.distributed.bucket_mib: must be >= 1, got ", d.bucket_mib()));
  }
  out->push_back(std::make_unique<DistributedSync>(context.distributed, d.sync_batchnorm(),
                                                   int64_t{d.bucket_mib()} << 20));
  return absl::OkStatus();
}

absl::StatusOr<Predictions> GatherPredictions(Distributed* dist, const Predictions& mine,
                                              const std::vector<int>& order) {
  Predictions copy = mine;  // from_blob needs writable buffers
  Predictions* local = &copy;
  // Every process's rows (probabilities, loss, label, dataset index), padded to the longest. A
  // process whose share was empty learns the number of classes from the others.
  const int64_t n = local->size();
  const absl::StatusOr<std::vector<torch::Tensor>> counts =
      dist->AllGather(torch::tensor({n, static_cast<int64_t>(local->num_classes)}, torch::kLong),
                      "gathering validation sizes");
  if (!counts.ok()) return counts.status();
  std::vector<int64_t> sizes;  // rows per process
  int64_t longest = 1, classes = 0;
  for (const torch::Tensor& count : *counts) {
    const int64_t* v = count.data_ptr<int64_t>();
    sizes.push_back(v[0]);
    longest = std::max(longest, v[0]);
    classes = std::max(classes, v[1]);
  }
  const int64_t c = classes;
  torch::Tensor rows = torch::zeros({longest, c + 3}, torch::kDouble);
  if (n > 0) {
    auto column = [n](auto& values, torch::ScalarType type) {
      return torch::from_blob(values.data(), {n, static_cast<int64_t>(values.size()) / n}, type)
          .to(torch::kDouble);
    };
    rows.narrow(0, 0, n).copy_(torch::cat(
        {column(local->probabilities, torch::kFloat), column(local->losses, torch::kFloat),
         column(local->labels, torch::kLong), column(local->indices, torch::kInt)},
        1));
  }
  const absl::StatusOr<std::vector<torch::Tensor>> gathered =
      dist->AllGather(rows, "gathering validation results");
  if (!gathered.ok()) return gathered.status();
  const std::vector<torch::Tensor>& all = *gathered;
  // Back into the validation loader's order, as one process would have produced them.
  std::map<int, int> position;
  for (size_t i = 0; i < order.size(); ++i) position[order[i]] = static_cast<int>(i);
  std::vector<std::pair<int, const double*>> ordered;
  for (size_t r = 0; r < all.size(); ++r) {
    const double* data = all[r].data_ptr<double>();
    for (int64_t i = 0; i < sizes[r]; ++i) {
      const double* row = data + i * (c + 3);
      ordered.emplace_back(position.at(static_cast<int>(row[c + 2])), row);
    }
  }
  std::sort(ordered.begin(), ordered.end());
  Predictions out;
  out.num_classes = static_cast<int>(c);
  double loss_sum = 0;
  for (const auto& [pos, row] : ordered) {
    out.probabilities.insert(out.probabilities.end(), row, row + c);
    out.losses.push_back(static_cast<float>(row[c]));
    out.labels.push_back(static_cast<int64_t>(row[c + 1]));
    out.indices.push_back(static_cast<int>(row[c + 2]));
    loss_sum += out.losses.back();
  }
  out.mean_loss = out.labels.empty() ? 0 : loss_sum / out.labels.size();
  return out;
}

}  // namespace malaria::training
