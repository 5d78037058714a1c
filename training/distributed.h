// Data-parallel training across processes on LibTorch's c10d: rendezvous through a c10d TCPStore
// at the address torchrun's variables name, a Gloo process group for CPU tensors (and for CUDA
// tensors when asked), a NCCL process group for CUDA tensors when LibTorch is built with it
// (USE_C10D_NCCL), bucketed gradient all-reduce that overlaps the backward pass, and all-reduced
// BatchNorm statistics. Each collective runs on the group of its tensors' device, so the small
// exchanges (losses, interrupts, validation results) stay on Gloo while gradients of a model on
// the GPU go through NCCL, as PyTorch programs that keep a Gloo group beside NCCL do.
//
//   absl::StatusOr<DistributedEnv> env = DistributedEnvFromEnvironment();  // RANK, WORLD_SIZE...
//   absl::StatusOr<std::unique_ptr<Distributed>> dist = Distributed::Connect(*env, timeout);
//   (*dist)->UseDevice(torch::Device(torch::kCUDA, env->local_rank), Backend::kAuto);  // GPUs
//   GradientSync sync(dist->get(), trainable_parameters, 25 << 20);
//   loss.backward();   // buckets are all-reduced as their gradients become ready
//   RETURN_IF_ERROR(sync.Finish());  // every parameter's .grad is now the mean over the processes
//
// A collective that fails (a peer died, or nothing arrived within the timeout) returns Unavailable
// naming this rank and the operation; the caller records the failure. Only the BatchNorm
// statistics exchange, which runs inside the forward pass, reports as LibTorch's c10::Error.
// DistributedSync is the learner's callback that does all of this around each step.
#ifndef MALARIA_TRAINING_DISTRIBUTED_H_
#define MALARIA_TRAINING_DISTRIBUTED_H_

#include <torch/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "models/sync_batch_norm.h"
#include "training/callback.h"

namespace malaria::training {

// This process's place in a data-parallel job, from torchrun's environment variables: RANK,
// WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT, and
// TORCHELASTIC_USE_AGENT_STORE (the launcher, not rank 0, hosts the store).
struct DistributedEnv {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  int local_world_size = 1;  // processes of the job on this machine
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  bool agent_store = false;
};

// DistributedEnvFromEnvironment reads the variables; without WORLD_SIZE, a single process.
// InvalidArgument names a malformed or inconsistent variable.
absl::StatusOr<DistributedEnv> DistributedEnvFromEnvironment();

// The process group for tensors on a CUDA device: kAuto is NCCL when LibTorch has it (Gloo
// otherwise), as torchrun users choose; kGloo runs CUDA collectives through Gloo (slower, but
// several processes may share one GPU, which NCCL refuses).
enum class Backend { kAuto, kGloo, kNccl };

// NcclAvailable: whether this build has c10d's NCCL process group.
bool NcclAvailable();

// IntFromEnvironment returns environment variable `name` as a non-negative int, `fallback` when it
// is unset or empty; InvalidArgument naming the variable otherwise.
absl::StatusOr<int> IntFromEnvironment(const char* name, int fallback);

class Distributed {
 public:
  // Connect joins the job: the TCPStore at master_addr:master_port (hosted by rank 0 unless
  // agent_store), then the Gloo process group. `timeout` bounds the rendezvous and every
  // collective. Unavailable when the rendezvous fails.
  static absl::StatusOr<std::unique_ptr<Distributed>> Connect(const DistributedEnv& env,
                                                              std::chrono::milliseconds timeout);
  // UseDevice chooses the group for tensors on `device` (every process calls it, with the same
  // backend): on a CUDA device with NCCL, makes it the current device and joins a NCCL group;
  // otherwise Gloo keeps every collective. InvalidArgument for NCCL on the CPU or in a build
  // without it; Unavailable when NCCL's rendezvous fails.
  absl::Status UseDevice(const torch::Device& device, Backend backend);
  // "gloo" or "nccl": the group that collectives on tensors of the chosen device use.
  std::string device_backend() const;
  ~Distributed();
  Distributed(const Distributed&) = delete;
  Distributed& operator=(const Distributed&) = delete;

  int rank() const { return env_.rank; }
  int world_size() const { return env_.world_size; }
  int local_rank() const { return env_.local_rank; }
  int local_world_size() const { return env_.local_world_size; }
  bool is_primary() const { return env_.rank == 0; }

  // Collectives on contiguous tensors, in place, on the group of the tensors' device. Every
  // process must call them in the same order. Unavailable, naming this rank and `what`, when a
  // peer died or did not answer within the timeout.
  absl::Status AllReduceSum(torch::Tensor& t, const char* what);
  absl::Status Broadcast(std::vector<torch::Tensor>& tensors, int root, const char* what);
  // AllGather returns every process's `t` (the same shape everywhere), in rank order.
  absl::StatusOr<std::vector<torch::Tensor>> AllGather(const torch::Tensor& t, const char* what);
  absl::Status Barrier(const char* what);

  // The store: a small key-value exchange (rank 0 publishes the run directory, for instance).
  absl::Status SetKey(const std::string& key, const std::string& value);
  // GetKey waits for the key for at most the timeout.
  absl::StatusOr<std::string> GetKey(const std::string& key);

  // The asynchronous all-reduce GradientSync launches; Wait on the result.
  class Pending;
  absl::StatusOr<std::shared_ptr<Pending>> AllReduceSumAsync(torch::Tensor t);
  absl::Status Wait(Pending& pending, const char* what);

 private:
  struct Impl;
  Distributed(DistributedEnv env, std::unique_ptr<Impl> impl);
  absl::Status Failure(absl::string_view what, const std::exception& e) const;

  DistributedEnv env_;
  std::unique_ptr<Impl> impl_;
};

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

// The store a launcher hosts for its workers (they connect with TORCHELASTIC_USE_AGENT_STORE), so
// it can read what they publish (the run directory) even when rank 0 dies.
class StoreServer {
 public:
  static absl::StatusOr<std::unique_ptr<StoreServer>> Start(int port);
  ~StoreServer();
  // TryGet returns the key's value, or "" when it is not set.
  std::string TryGet(const std::string& key);

 private:
  struct Impl;
  explicit StoreServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// FreeTcpPort returns a TCP port that was free on the loopback interface a moment ago.
int FreeTcpPort();

// MakeStatsReducer returns the all-reduce (differentiable: its gradient is all-reduced too) that
// models::SyncBatchNorm layers use to share batch statistics.
std::shared_ptr<models::StatsReducer> MakeStatsReducer(Distributed* dist);

}  // namespace malaria::training

#endif  // MALARIA_TRAINING_DISTRIBUTED_H_
