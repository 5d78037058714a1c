// The process group of data-parallel training, on LibTorch's c10d: rendezvous through a c10d
// TCPStore at the address torchrun's variables name, a Gloo process group for CPU tensors (and for
// CUDA tensors when asked), a NCCL process group for CUDA tensors when LibTorch is built with it
// (USE_C10D_NCCL), and the collectives. What training does over it (bucketed gradient averaging,
// shared BatchNorm statistics, the learner's callback, gathered validation) is in
// training/data_parallel.h. Each collective runs on the group of its tensors' device, so the small
// exchanges (losses, interrupts, validation results) stay on Gloo while gradients of a model on
// the GPU go through NCCL, as PyTorch programs that keep a Gloo group beside NCCL do.
//
//   absl::StatusOr<DistributedEnv> env = DistributedEnvFromEnvironment();  // RANK, WORLD_SIZE...
//   absl::StatusOr<std::unique_ptr<Distributed>> dist = Distributed::Connect(*env, timeout);
//   (*dist)->UseDevice(torch::Device(torch::kCUDA, env->local_rank), Backend::kAuto);  // GPUs
//   RETURN_IF_ERROR((*dist)->AllReduceSum(losses, "the loss all-reduce"));
//
// A collective that fails (a peer died, or nothing arrived within the timeout) returns Unavailable
// naming this rank and the operation; the caller records the failure.
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

}  // namespace malaria::training

#endif  // MALARIA_TRAINING_DISTRIBUTED_H_
