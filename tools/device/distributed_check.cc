// A CUDA check of training/distributed for a GPU machine without this workspace's Bazel set-up:
// built by tools/device/cuda_check.sh with g++ against any CUDA LibTorch (PyTorch's own, for one).
// The parent process never touches CUDA; it starts this program again for each part:
//
//   1. One process on NCCL: UseDevice joins the NCCL group; all-reduce, broadcast and all-gather
//      of CUDA tensors; a ResNet-18 with SyncBatchNorm trained a few SGD steps through
//      GradientSync's NCCL buckets.
//   2. The same training in one process on Gloo with batch 2B (the reference), and in two
//      processes sharing the GPU on Gloo's CUDA path with batch B each (NCCL refuses two ranks on
//      one GPU, so a one-GPU machine can only test data-parallel equivalence through Gloo).
//
// Checks: NCCL's one-process run equals Gloo's (the same numbers through either group); the two
// processes' losses per step equal the reference's, and both ranks end with the reference's
// weights. Prints one line per check and exits non-zero when one fails.
//
//   distributed_check                      # everything
//   CHECK_DEVICE=cpu distributed_check     # part 2 on the CPU (a dry run of the check itself)
//   distributed_check train RANK WORLD BACKEND BATCH PORT OUT   # one part (used by the parent)
#include <ATen/Context.h>
#include <sys/wait.h>
#include <torch/cuda.h>
#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "models/resnet.h"
#include "models/sync_batch_norm.h"
#include "tools/device/check.h"
#include "training/data_parallel.h"
#include "training/distributed.h"

namespace {

using malaria::training::Backend;
using malaria::training::Distributed;
using malaria::training::DistributedEnv;

constexpr int kSteps = 4;
constexpr int kSize = 64;

using malaria::device_check::Check;
using malaria::device_check::CheckClose;
using malaria::device_check::failures;
using malaria::device_check::Must;
using malaria::device_check::Relative;

bool OnCpu() {
  const char* d = std::getenv("CHECK_DEVICE");
  return d != nullptr && std::string(d) == "cpu";
}

// One part: trains kSteps SGD steps on this rank's share of a fixed batch of batch * world
// images, every collective through `backend` ("none": one process without c10d, the reference),
// and writes [losses, parameters..., buffers...] to `out`.
int Train(int rank, int world, const std::string& backend, int batch, int port,
          const std::string& out) {
  // Deterministic float32: TF32 (cuDNN's default on Ampere and later) rounds to 10-bit mantissas,
  // which would turn the 1e-7 differences between two correct BatchNorm paths into 1e-3.
  at::globalContext().setDeterministicCuDNN(true);
  at::globalContext().setBenchmarkCuDNN(false);
  at::globalContext().setAllowTF32CuDNN(false);
  at::globalContext().setAllowTF32CuBLAS(false);
  const torch::Device device =
      OnCpu() ? torch::Device(torch::kCPU) : torch::Device(torch::kCUDA, 0);
  std::unique_ptr<Distributed> dist;
  if (backend != "none") {
    DistributedEnv env;
    env.rank = rank;
    env.world_size = world;
    env.local_rank = rank;
    env.local_world_size = world;
    env.master_port = port;
    auto connected = Distributed::Connect(env, std::chrono::seconds(60));
    if (!connected.ok()) {
      std::fprintf(stderr, "%s\n", std::string(connected.status().message()).c_str());
      return 1;
    }
    dist = *std::move(connected);
    const absl::Status joined =
        dist->UseDevice(device, backend == "nccl" ? Backend::kNccl : Backend::kGloo);
    if (!joined.ok()) {
      std::fprintf(stderr, "%s\n", std::string(joined.message()).c_str());
      return 1;
    }
    if (dist->device_backend() != backend) {
      std::fprintf(stderr, "device_backend() is %s, not %s\n", dist->device_backend().c_str(),
                   backend.c_str());
      return 1;
    }
  }
  if (backend == "nccl") {
    // The collectives themselves on CUDA tensors (one process: sums are the values), and a CPU
    // tensor, which goes through Gloo or, without it, through a copy on the GPU.
    torch::Tensor t = torch::arange(6, torch::dtype(torch::kFloat).device(device));
    const torch::Tensor before = t.clone();
    Must(dist->AllReduceSum(t, "check all-reduce"));
    std::vector<torch::Tensor> b = {t};
    Must(dist->Broadcast(b, 0, "check broadcast"));
    const std::vector<torch::Tensor> g = Must(dist->AllGather(t, "check all-gather"));
    torch::Tensor cpu = torch::ones({3}, torch::kDouble);
    Must(dist->AllReduceSum(cpu, "check CPU all-reduce"));
    const std::vector<torch::Tensor> gc = Must(dist->AllGather(cpu, "check CPU all-gather"));
    Must(dist->Barrier("check barrier"));
    if (!t.is_cuda() || !torch::equal(t, before) || g.size() != 1 || !torch::equal(g[0], before) ||
        !cpu.is_cpu() || cpu.sum().item<double>() != 3.0 || gc.size() != 1 || !gc[0].is_cpu() ||
        !torch::equal(gc[0], cpu)) {
      std::fprintf(stderr, "NCCL collectives changed a one-process tensor\n");
      return 1;
    }
  }

  // Every rank builds the same model and data; rank 0's weights are broadcast as the learner does.
  torch::manual_seed(1);
  malaria::models::ResNet net = malaria::models::MakeResNet("resnet18", 2);
  net->to(device);
  std::vector<torch::Tensor> params = net->parameters();
  std::unique_ptr<malaria::training::GradientSync> sync;
  if (dist != nullptr) {
    malaria::models::SetStatsReducer(*net, malaria::training::MakeStatsReducer(dist.get()));
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> state;
    for (auto& p : net->parameters()) state.push_back(p.detach());
    for (auto& buf : net->buffers()) state.push_back(buf.detach());
    Must(dist->Broadcast(state, 0, "the weights broadcast"));
    // Small buckets, so the backward pass launches several all-reduces while it runs.
    sync = std::make_unique<malaria::training::GradientSync>(dist.get(), params, 1 << 20);
  }
  torch::manual_seed(2);
  const int total = batch * world;
  const torch::Tensor images = torch::randn({total, 3, kSize, kSize}).to(device);
  const torch::Tensor labels = torch::randint(0, 2, {total}, torch::kLong).to(device);
  const torch::Tensor x = images.narrow(0, rank * batch, batch);
  const torch::Tensor y = labels.narrow(0, rank * batch, batch);

  torch::optim::SGD sgd(params, torch::optim::SGDOptions(0.01));
  std::vector<double> losses;
  net->train();
  for (int step = 0; step < kSteps; ++step) {
    sgd.zero_grad();
    torch::Tensor loss = torch::nn::functional::cross_entropy(net->forward(x), y);
    loss.backward();
    if (sync != nullptr) Must(sync->Finish());
    sgd.step();
    torch::Tensor shared = loss.detach().to(torch::kCPU, torch::kDouble).reshape({1});
    if (dist != nullptr) Must(dist->AllReduceSum(shared, "the loss all-reduce"));
    losses.push_back(shared.item<double>() / world);
  }
  std::vector<torch::Tensor> saved = {torch::tensor(losses, torch::kDouble)};
  for (auto& p : net->parameters()) saved.push_back(p.detach().cpu());
  for (auto& buf : net->buffers()) saved.push_back(buf.detach().cpu());
  torch::save(saved, out);
  std::printf("rank %d of %d on %s: %d buckets, losses", rank, world, backend.c_str(),
              sync != nullptr ? sync->num_buckets() : 0);
  for (double l : losses) std::printf(" %.6f", l);
  std::printf("\n");
  return 0;
}

std::vector<pid_t> Start(const std::vector<std::vector<std::string>>& parts) {
  std::vector<pid_t> pids;
  for (const auto& args : parts) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      std::vector<char*> argv;
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv("/proc/self/exe", argv.data());
      std::_Exit(127);
    }
    pids.push_back(pid);
  }
  return pids;
}

bool WaitAll(const std::vector<pid_t>& pids) {
  bool ok = true;
  for (pid_t pid : pids) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    ok = ok && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }
  return ok;
}

std::vector<std::string> Part(int rank, int world, const std::string& backend, int batch, int port,
                              const std::string& out) {
  return {"distributed_check",   "train", std::to_string(rank),
          std::to_string(world), backend, std::to_string(batch),
          std::to_string(port),  out};
}

std::vector<torch::Tensor> Load(const std::string& path) {
  std::vector<torch::Tensor> v;
  torch::load(v, path);
  return v;
}

// Largest difference over the parameters and buffers (index 1 on) of two parts' results.
double WeightsDifference(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  double worst = 0;
  for (size_t i = 1; i < a.size() && i < b.size(); ++i) {
    if (!a[i].is_floating_point()) {
      if (!torch::equal(a[i], b[i])) return 1e9;
      continue;
    }
    // Relative to the tensor's largest value, or to 0.01 when that is smaller: BatchNorm biases
    // start at zero and are still ~1e-4 after a few steps.
    const double scale = std::max(b[i].abs().max().item<double>(), 1e-2);
    worst = std::max(worst, (a[i] - b[i]).abs().max().item<double>() / scale);
  }
  return a.size() == b.size() ? worst : 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 8 && std::string(argv[1]) == "train") {
    return Train(std::atoi(argv[2]), std::atoi(argv[3]), argv[4], std::atoi(argv[5]),
                 std::atoi(argv[6]), argv[7]);
  }
  const std::string dir = std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp");
  const int batch = 8;
  const std::vector<pid_t> plain = Start({Part(0, 1, "none", 2 * batch, 0, dir + "/plain.pt")});
  Check("one process without c10d, batch 2B (the reference)", WaitAll(plain), "");
  if (!OnCpu()) {
    const std::vector<pid_t> nccl =
        Start({Part(0, 1, "nccl", 2 * batch, malaria::training::FreeTcpPort(), dir + "/nccl1.pt")});
    Check("NCCL, one process: joins, collectives, SyncBatchNorm, training", WaitAll(nccl), "");
  }
#ifdef USE_C10D_GLOO
  const int port = malaria::training::FreeTcpPort();
  const std::vector<pid_t> two = Start({Part(0, 2, "gloo", batch, port, dir + "/gloo2_0.pt"),
                                        Part(1, 2, "gloo", batch, port, dir + "/gloo2_1.pt")});
  Check("Gloo, two processes sharing the device, batch B each", WaitAll(two), "");
#else
  std::printf(
      "SKIP two processes on one GPU: this LibTorch has no Gloo headers, and NCCL refuses "
      "two ranks on one GPU\n");
#endif
  if (failures == 0) {
    const auto reference = Load(dir + "/plain.pt");
    if (!OnCpu()) {
      const auto n1 = Load(dir + "/nccl1.pt");
      CheckClose("NCCL one process: losses = without c10d", Relative(n1[0], reference[0]), 1e-5);
      CheckClose("NCCL one process: weights = without c10d", WeightsDifference(n1, reference),
                 1e-3);
    }
#ifdef USE_C10D_GLOO
    const auto r0 = Load(dir + "/gloo2_0.pt"), r1 = Load(dir + "/gloo2_1.pt");
    CheckClose("2 processes x batch B: losses per step = 1 process x 2B",
               Relative(r0[0], reference[0]), 1e-4);
    CheckClose("2 processes: rank 0's weights = rank 1's", WeightsDifference(r0, r1), 0);
    CheckClose("2 processes: weights after training = 1 process x 2B",
               WeightsDifference(r0, reference), 2e-3);
#endif
  }
  std::printf("%s\n", failures == 0 ? "PASS" : "FAIL");
  return failures == 0 ? 0 : 1;
}
