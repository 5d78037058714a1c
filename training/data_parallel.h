// Training over a data-parallel process group (training/distributed.h): gradients averaged in
// buckets while the backward pass runs, BatchNorm statistics shared, the learner's callback that
// does it all around each step, and validation predictions gathered from every process.
//
//   GradientSync sync(dist, trainable_parameters, 25 << 20);
//   loss.backward();   // buckets are all-reduced as their gradients become ready
//   RETURN_IF_ERROR(sync.Finish());  // every parameter's .grad is now the mean over the processes
//
//   AddGradientSync(config, context, &callbacks);  // a DistributedSync in a data-parallel run
#ifndef MALARIA_TRAINING_DATA_PARALLEL_H_
#define MALARIA_TRAINING_DATA_PARALLEL_H_

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "models/sync_batch_norm.h"
#include "training/callback.h"
#include "training/distributed.h"
#include "training/training_config.pb.h"

namespace malaria::training {

struct IngredientContext;  // training/ingredient.h

// Averages gradients over the processes, in buckets of about `bucket_bytes`, each all-reduced as
// soon as the backward pass has produced all its gradients (in reverse parameter order, roughly
// the order backward produces them), so communication overlaps the rest of the backward pass.
class GradientSync {
 public:
  GradientSync(Distributed* dist, std::vector<torch::Tensor> params, int64_t bucket_bytes);
  ~GradientSync();  // removes its hooks
  GradientSync(const GradientSync&) = delete;
  GradientSync& operator=(const GradientSync&) = delete;

  // Finish, after backward: launches buckets whose parameters got no gradient (their share is
  // zero), waits for every bucket and sets each parameter's .grad to the mean over processes.
  // Unavailable when an all-reduce failed (the gradients are then not averaged).
  absl::Status Finish();
  int num_buckets() const { return static_cast<int>(buckets_.size()); }

 private:
  struct Bucket {
    std::vector<int> params;  // indices into params_
    std::vector<int64_t> offsets;
    torch::Tensor flat;
    int pending = 0;
    std::vector<bool> ready;
    bool launched = false;
    std::shared_ptr<Distributed::Pending> work;
  };
  void OnGradient(int bucket, int slot, const torch::Tensor& grad);
  // Launch starts the bucket's all-reduce; a failure is kept for Finish.
  void Launch(Bucket& bucket);

  Distributed* dist_;
  std::vector<torch::Tensor> params_;
  std::vector<unsigned> hooks_;
  std::vector<Bucket> buckets_;
  std::mutex mu_;
  absl::Status failure_;
};

// The learner's data-parallel callback: at the start of a stage (or finder sweep) every process
// takes rank 0's weights and buffers, SyncBatchNorm layers share statistics when
// `sync_batchnorm`, and the trainable parameters' gradients are averaged in buckets of
// `bucket_bytes` during backward (OnFitBegin); each batch's loss is averaged over the processes and
// an interrupt in any of them reaches all, so they stop after the same batch (OnLoss); the
// gradient buckets are awaited before the update (OnBackwardEnd). Put it before the callbacks that
// judge the loss.
class DistributedSync : public Callback {
 public:
  DistributedSync(Distributed* dist, bool sync_batchnorm, int64_t bucket_bytes)
      : dist_(dist), sync_batchnorm_(sync_batchnorm), bucket_bytes_(bucket_bytes) {}
  absl::Status OnFitBegin(FitState& state) override;
  absl::Status OnLoss(FitState& state) override;
  absl::Status OnBackwardEnd(FitState& state) override;
  void OnFitEnd(FitState& state, const absl::Status& outcome) override;

 private:
  Distributed* dist_;
  bool sync_batchnorm_;
  int64_t bucket_bytes_;
  std::unique_ptr<GradientSync> gradients_;
};

// AddGradientSync adds a DistributedSync over context.distributed (when set) with
// training.distributed's sync_batchnorm and bucket_mib.
absl::Status AddGradientSync(const TrainingConfig& config, const IngredientContext& context,
                             std::vector<std::unique_ptr<Callback>>* out);

// GatherPredictions returns every process's predictions (`mine` is this process's share of a
// validation set) as one set in `order` (the dataset indices as one process would have seen
// them): what a single process would have predicted. A process whose share is empty learns the
// number of classes from the others. Unavailable when the exchange fails.
absl::StatusOr<Predictions> GatherPredictions(Distributed* dist, const Predictions& mine,
                                              const std::vector<int>& order);

// MakeStatsReducer returns the all-reduce (differentiable: its gradient is all-reduced too) that
// models::SyncBatchNorm layers use to share batch statistics.
std::shared_ptr<models::StatsReducer> MakeStatsReducer(Distributed* dist);

}  // namespace malaria::training

#endif  // MALARIA_TRAINING_DATA_PARALLEL_H_
