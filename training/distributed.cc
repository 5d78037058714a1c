#include "training/distributed.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <torch/torch.h>
#include <torch/version.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <optional>
#include <stdexcept>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/Work.hpp>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/main.h"
#include "training/slurm_env.h"

// Which process groups this LibTorch has: Gloo in Debian's and PyTorch's builds (training/BUILD
// defines USE_C10D_GLOO), NCCL in CUDA builds (USE_C10D_NCCL under --config=cuda).
#ifdef USE_C10D_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef USE_C10D_NCCL
#include <c10/core/impl/DeviceGuardImplInterface.h>

#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace malaria::training {
namespace {

bool IsLoopback(const std::string& addr) {
  return addr == "localhost" || addr.rfind("127.", 0) == 0 || addr == "::1";
}

}  // namespace

absl::StatusOr<int> IntFromEnvironment(const char* name, int fallback) {
  return IntVariable([](const char* n) { return std::getenv(n); }, name, fallback);
}

absl::StatusOr<DistributedEnv> DistributedEnvFromEnvironment() {
  DistributedEnv env;
  // Under srun with several tasks (and without torchrun's variables), Slurm's say where we are.
  if (std::getenv("WORLD_SIZE") == nullptr) {
    absl::StatusOr<std::optional<SlurmStep>> slurm =
        SlurmStepFromEnvironment([](const char* name) { return std::getenv(name); });
    if (!slurm.ok()) return slurm.status();
    if (slurm->has_value()) {
      const SlurmStep& step = **slurm;
      env.world_size = step.world_size;
      env.rank = step.rank;
      env.local_rank = step.local_rank;
      env.local_world_size = step.local_world_size;
      env.master_addr = step.master_addr;
      env.master_port = step.master_port;
      return env;
    }
  }
  absl::StatusOr<int> world = IntFromEnvironment("WORLD_SIZE", 1);
  if (!world.ok()) return world.status();
  absl::StatusOr<int> rank = IntFromEnvironment("RANK", 0);
  if (!rank.ok()) return rank.status();
  absl::StatusOr<int> local = IntFromEnvironment("LOCAL_RANK", *rank);
  if (!local.ok()) return local.status();
  absl::StatusOr<int> local_world = IntFromEnvironment("LOCAL_WORLD_SIZE", 1);
  if (!local_world.ok()) return local_world.status();
  absl::StatusOr<int> port = IntFromEnvironment("MASTER_PORT", 29500);
  if (!port.ok()) return port.status();
  if (*world < 1) return absl::InvalidArgumentError("environment variable WORLD_SIZE must be >= 1");
  if (*rank >= *world) {
    return absl::InvalidArgumentError(
        absl::StrCat("environment variable RANK=", *rank, " is not below WORLD_SIZE=", *world));
  }
  if (*port < 1 || *port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("environment variable MASTER_PORT=", *port, " is not a TCP port"));
  }
  env.world_size = *world;
  env.rank = *rank;
  env.local_rank = *local;
  env.local_world_size = std::max(1, *local_world);
  env.master_port = *port;
  if (const char* addr = std::getenv("MASTER_ADDR"); addr != nullptr && *addr != '\0') {
    env.master_addr = addr;
  } else if (env.world_size > 1) {
    return absl::InvalidArgumentError(
        "WORLD_SIZE > 1 but environment variable MASTER_ADDR is unset (torchrun sets it: the "
        "host of rank 0's store)");
  }
  const char* agent = std::getenv("TORCHELASTIC_USE_AGENT_STORE");
  env.agent_store = agent != nullptr && (std::string(agent) == "True" || std::string(agent) == "1");
  return env;
}

bool NcclAvailable() {
#ifdef USE_C10D_NCCL
  return true;
#else
  return false;
#endif
}

struct Distributed::Impl {
  c10::intrusive_ptr<c10d::TCPStore> store;
#ifdef USE_C10D_GLOO
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
#endif
#ifdef USE_C10D_NCCL
  c10::intrusive_ptr<c10d::ProcessGroupNCCL> nccl;
#endif
  torch::Device device = torch::kCPU;  // UseDevice's
  std::chrono::milliseconds timeout;

  bool HasGroupFor(const torch::Tensor& t) const {
#ifdef USE_C10D_NCCL
    if (nccl && t.is_cuda()) return true;
#endif
#ifdef USE_C10D_GLOO
    if (gloo) return true;
#endif
    return false;
  }

  // The tensor a collective runs on: t itself, or its copy on the GPU when no group takes t's
  // device (a LibTorch without Gloo, such as PyTorch's pip wheel: CPU tensors go through NCCL).
  torch::Tensor Staged(const torch::Tensor& t) const {
    return HasGroupFor(t) || !device.is_cuda() ? t : t.to(device);
  }

  // On(t, f) calls f with the process group for tensors like t: NCCL for CUDA tensors once
  // UseDevice joined it, Gloo otherwise. (The groups share no base class across LibTorch
  // versions, hence the generic lambda.)
  template <typename F>
  auto On(const torch::Tensor& t, F&& f) {
#ifdef USE_C10D_NCCL
    if (nccl && t.is_cuda()) return f(*nccl);
#endif
#ifdef USE_C10D_GLOO
    if (gloo) return f(*gloo);
#endif
    throw std::runtime_error(absl::StrCat("no process group for tensors on ", t.device().str(),
                                          " in this LibTorch build"));
  }
};

class Distributed::Pending {
 public:
  explicit Pending(c10::intrusive_ptr<c10d::Work> w) : work(std::move(w)) {}
  c10::intrusive_ptr<c10d::Work> work;
};

Distributed::Distributed(DistributedEnv env, std::unique_ptr<Impl> impl)
    : env_(std::move(env)), impl_(std::move(impl)) {}

Distributed::~Distributed() {
#if defined(USE_C10D_NCCL) && TORCH_VERSION_MAJOR >= 2
  // PyTorch 2 expects NCCL groups shut down before exit (it warns about leaked resources).
  if (impl_->nccl) {
    try {
      impl_->nccl->shutdown();
    } catch (const std::exception& e) {
      absl::FPrintF(stderr, "warning: shutting down the NCCL group: %s\n",
                    base::ExceptionMessage(e));
    }
  }
#endif
}

absl::StatusOr<std::unique_ptr<Distributed>> Distributed::Connect(
    const DistributedEnv& env, std::chrono::milliseconds timeout) {
  auto impl = std::make_unique<Impl>();
  impl->timeout = timeout;
  try {
    c10d::TCPStoreOptions options;
    options.port = static_cast<std::uint16_t>(env.master_port);
    options.isServer = env.rank == 0 && !env.agent_store;
    options.waitWorkers = false;
    options.timeout = timeout;
    impl->store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, options);
#ifdef USE_C10D_GLOO
    auto gloo = c10d::ProcessGroupGloo::Options::create(timeout);
    if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname != nullptr && *ifname) {
      gloo->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
    } else if (IsLoopback(env.master_addr)) {
      gloo->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    } else {
      gloo->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    }
    impl->gloo =
        c10::make_intrusive<c10d::ProcessGroupGloo>(impl->store, env.rank, env.world_size, gloo);
#endif
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat(
        "rank ", env.rank, " of ", env.world_size, ": cannot join the process group at ",
        env.master_addr, ":", env.master_port, " within ", timeout.count() / 1000,
        " s (are the other ranks started, with the same MASTER_ADDR and MASTER_PORT?): ",
        base::ExceptionMessage(e)));
  }
  return std::unique_ptr<Distributed>(new Distributed(env, std::move(impl)));
}

absl::Status Distributed::UseDevice(const torch::Device& device, Backend backend) {
  if (backend == Backend::kNccl && !device.is_cuda()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the NCCL backend needs a CUDA device; this process trains on ", device.str()));
  }
  if (backend == Backend::kNccl && !NcclAvailable()) {
    return absl::InvalidArgumentError(
        "the NCCL backend is not in this LibTorch build (build with --config=cuda against a CUDA "
        "LibTorch, or choose Gloo)");
  }
  if (!device.is_cuda() || backend == Backend::kGloo || !NcclAvailable()) return absl::OkStatus();
#ifdef USE_C10D_NCCL
  try {
    const torch::Device gpu(torch::kCUDA, device.has_index() ? device.index() : 0);
    c10::impl::getDeviceGuardImpl(torch::kCUDA)->setDevice(gpu);
    impl_->device = gpu;
    auto options = c10d::ProcessGroupNCCL::Options::create();
    options->timeout = impl_->timeout;
    // Its own key space in the store, beside Gloo's.
    auto store = c10::make_intrusive<c10d::PrefixStore>("nccl", impl_->store);
    impl_->nccl =
        c10::make_intrusive<c10d::ProcessGroupNCCL>(store, env_.rank, env_.world_size, options);
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("rank ", env_.rank, " of ", env_.world_size,
                                               ": cannot join the NCCL process group on ",
                                               device.str(), ": ", base::ExceptionMessage(e)));
  }
#endif
  return absl::OkStatus();
}

std::string Distributed::device_backend() const {
#ifdef USE_C10D_NCCL
  if (impl_->nccl) return "nccl";
#endif
  return "gloo";
}

absl::Status Distributed::Failure(absl::string_view what, const std::exception& e) const {
  return absl::UnavailableError(
      absl::StrCat("data-parallel rank ", env_.rank, " of ", env_.world_size, ": ", what,
                   " failed (another process died or stopped answering within ",
                   impl_->timeout.count() / 1000, " s): ", base::ExceptionMessage(e)));
}

absl::Status Distributed::AllReduceSum(torch::Tensor& t, const char* what) {
  try {
    std::vector<torch::Tensor> tensors = {impl_->Staged(t)};
    impl_->On(tensors[0], [&](auto& g) { return g.allreduce(tensors); })->wait(impl_->timeout);
    if (!tensors[0].is_same(t)) t.copy_(tensors[0]);
  } catch (const std::exception& e) {
    return Failure(what, e);
  }
  return absl::OkStatus();
}

absl::Status Distributed::Broadcast(std::vector<torch::Tensor>& tensors, int root,
                                    const char* what) {
  try {
    c10d::BroadcastOptions options;
    options.rootRank = root;
    for (torch::Tensor& t : tensors) {
      std::vector<torch::Tensor> one = {impl_->Staged(t)};
      impl_->On(one[0], [&](auto& g) { return g.broadcast(one, options); })->wait(impl_->timeout);
      if (!one[0].is_same(t)) t.copy_(one[0]);
    }
  } catch (const std::exception& e) {
    return Failure(what, e);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<torch::Tensor>> Distributed::AllGather(const torch::Tensor& t,
                                                                  const char* what) {
  std::vector<std::vector<torch::Tensor>> out(1);
  try {
    std::vector<torch::Tensor> in = {impl_->Staged(t.contiguous())};
    for (int r = 0; r < env_.world_size; ++r) out[0].push_back(torch::empty_like(in[0]));
    impl_->On(in[0], [&](auto& g) { return g.allgather(out, in); })->wait(impl_->timeout);
    for (torch::Tensor& o : out[0]) o = o.to(t.device());
  } catch (const std::exception& e) {
    return Failure(what, e);
  }
  return out[0];
}

absl::Status Distributed::Barrier(const char* what) {
  try {
    // The CPU group's barrier (every process has one, whatever its device).
    impl_->On(impl_->Staged(torch::empty({0})), [](auto& g) { return g.barrier(); })
        ->wait(impl_->timeout);
  } catch (const std::exception& e) {
    return Failure(what, e);
  }
  return absl::OkStatus();
}

absl::Status Distributed::SetKey(const std::string& key, const std::string& value) {
  try {
    impl_->store->set(key, std::vector<uint8_t>(value.begin(), value.end()));
  } catch (const std::exception& e) {
    return Failure(absl::StrCat("publishing '", key, "'"), e);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Distributed::GetKey(const std::string& key) {
  try {
    const std::vector<uint8_t> v = impl_->store->get(key);
    return std::string(v.begin(), v.end());
  } catch (const std::exception& e) {
    return Failure(absl::StrCat("waiting for '", key, "' from rank 0"), e);
  }
}

absl::StatusOr<std::shared_ptr<Distributed::Pending>> Distributed::AllReduceSumAsync(
    torch::Tensor t) {
  try {
    std::vector<torch::Tensor> tensors = {t};
    return std::make_shared<Pending>(impl_->On(t, [&](auto& g) { return g.allreduce(tensors); }));
  } catch (const std::exception& e) {
    return Failure("a gradient all-reduce", e);
  }
}

absl::Status Distributed::Wait(Pending& pending, const char* what) {
  try {
    pending.work->wait(impl_->timeout);
  } catch (const std::exception& e) {
    return Failure(what, e);
  }
  return absl::OkStatus();
}

struct StoreServer::Impl {
  c10::intrusive_ptr<c10d::TCPStore> store;
};

StoreServer::StoreServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
StoreServer::~StoreServer() = default;

absl::StatusOr<std::unique_ptr<StoreServer>> StoreServer::Start(int port) {
  auto impl = std::make_unique<Impl>();
  try {
    c10d::TCPStoreOptions options;
    options.port = static_cast<std::uint16_t>(port);
    options.isServer = true;
    options.waitWorkers = false;
    impl->store = c10::make_intrusive<c10d::TCPStore>("127.0.0.1", options);
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("cannot host the rendezvous store on port ", port,
                                               ": ", base::ExceptionMessage(e)));
  }
  return std::unique_ptr<StoreServer>(new StoreServer(std::move(impl)));
}

std::string StoreServer::TryGet(const std::string& key) {
  try {
    if (!impl_->store->check({key})) return "";
    const std::vector<uint8_t> v = impl_->store->get(key);
    return std::string(v.begin(), v.end());
  } catch (const std::exception& e) {
    absl::FPrintF(stderr, "warning: rendezvous store: %s\n", base::ExceptionMessage(e));
    return "";
  }
}

int FreeTcpPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 29500;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = 29500;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

}  // namespace malaria::training
