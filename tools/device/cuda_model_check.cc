// A CUDA check of the model zoo for a GPU machine without this workspace's Bazel set-up: built by
// tools/device/cuda_model_check.sh with g++ against any CUDA LibTorch (PyTorch's own, for one). It
// checks that the ResNets and SyncBatchNorm give on the GPU what they give on the CPU (train and
// eval mode, NCHW and channels-last, forward and gradients), that SyncBatchNorm's all-reduce path
// matches torch's BatchNorm on the GPU, and times a training step. Prints one line per check and
// exits non-zero when one fails.
#include <ATen/Context.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "models/resnet.h"
#include "models/sync_batch_norm.h"
#include "tools/device/check.h"

namespace {

using malaria::models::MakeResNet;
using malaria::models::ResNet;

using malaria::device_check::CheckClose;
using malaria::device_check::failures;
using malaria::device_check::Relative;

// The same weights on `device`, optionally channels-last.
ResNet Copy(const ResNet& from, const std::string& arch, torch::Device device, bool channels_last) {
  ResNet to = MakeResNet(arch, 2);
  torch::NoGradGuard no_grad;
  auto src = from->named_parameters();
  for (auto& p : to->named_parameters()) p.value().copy_(src[p.key()]);
  auto srcb = from->named_buffers();
  for (auto& b : to->named_buffers()) b.value().copy_(srcb[b.key()]);
  to->to(device);
  if (channels_last) {
    for (auto& p : to->parameters()) {
      if (p.dim() == 4) p.set_data(p.contiguous(torch::MemoryFormat::ChannelsLast));
    }
  }
  return to;
}

// GPU against CPU, both float32, each measured against a float64 CPU reference: deep networks
// with training-mode BatchNorm lose digits in their early gradients on any device, so the GPU must
// be about as close to the exact values as the CPU is.
void CompareDevices(const std::string& arch) {
  torch::manual_seed(1);
  ResNet init = MakeResNet(arch, 2);
  const torch::Tensor x = torch::randn({8, 3, 96, 96});
  const torch::Device cuda(torch::kCUDA);
  ResNet exact = Copy(init, arch, torch::kCPU, false);
  exact->to(torch::kDouble);
  exact->train();
  const torch::Tensor y64 = exact->forward(x.to(torch::kDouble));
  y64.square().sum().backward();
  for (bool channels_last : {false, true}) {
    const std::string layout = channels_last ? "channels-last" : "NCHW";
    ResNet gpu = Copy(init, arch, cuda, channels_last);
    ResNet cpu = Copy(init, arch, torch::kCPU, channels_last);
    torch::Tensor xg = x.to(cuda), xc = x;
    if (channels_last) {
      xg = xg.contiguous(torch::MemoryFormat::ChannelsLast);
      xc = xc.contiguous(torch::MemoryFormat::ChannelsLast);
    }
    gpu->train();
    cpu->train();
    const torch::Tensor yg = gpu->forward(xg), yc = cpu->forward(xc);
    yg.square().sum().backward();
    yc.square().sum().backward();
    auto versus = [&](const std::string& what, const torch::Tensor& g, const torch::Tensor& c,
                      const torch::Tensor& e, double floor) {
      const double eg = Relative(g.to(torch::kDouble), e), ec = Relative(c.to(torch::kDouble), e);
      std::printf("     %s %s: CPU float32 %.2e from float64\n", arch.c_str(), what.c_str(), ec);
      CheckClose(arch + " " + what + ", GPU, " + layout, eg, std::max(10 * ec, floor));
    };
    versus("train forward", yg, yc, y64, 1e-4);
    versus("conv1 weight gradient", gpu->conv1->weight.grad(), cpu->conv1->weight.grad(),
           exact->conv1->weight.grad(), 1e-4);
    versus("fc weight gradient", gpu->fc->weight.grad(), cpu->fc->weight.grad(),
           exact->fc->weight.grad(), 1e-4);
    versus("bn1 running variance", gpu->bn1->running_var, cpu->bn1->running_var,
           exact->bn1->running_var, 1e-5);
    gpu->eval();
    cpu->eval();
    exact->eval();
    torch::NoGradGuard no_grad;
    versus("eval forward", gpu->forward(xg), cpu->forward(xc), exact->forward(x.to(torch::kDouble)),
           1e-4);
    exact->train();
  }
}

class Identity : public malaria::models::StatsReducer {
 public:
  torch::Tensor AllReduceSum(const torch::Tensor& t) override { return t; }
};

void SyncBatchNormOnGpu() {
  const torch::Device cuda(torch::kCUDA);
  malaria::models::SyncBatchNorm sync(16);
  torch::nn::BatchNorm2d plain(16);
  sync->to(cuda);
  plain->to(cuda);
  malaria::models::SetStatsReducer(*sync, std::make_shared<Identity>());
  const torch::Tensor x = (torch::randn({12, 16, 9, 9}, cuda) * 2 + 1).set_requires_grad(true);
  const torch::Tensor x2 = x.detach().clone().set_requires_grad(true);
  const torch::Tensor w = torch::randn({12, 16, 9, 9}, cuda);
  const torch::Tensor ys = sync->forward(x), yp = plain->forward(x2);
  (ys * w).sum().backward();
  (yp * w).sum().backward();
  CheckClose("SyncBatchNorm all-reduce path vs torch BatchNorm: forward", Relative(ys, yp), 1e-4);
  CheckClose("SyncBatchNorm all-reduce path vs torch BatchNorm: input gradient",
             Relative(x.grad(), x2.grad()), 1e-3);
  CheckClose("SyncBatchNorm all-reduce path vs torch BatchNorm: running var",
             Relative(sync->running_var, plain->running_var), 1e-5);
}

void Throughput(const std::string& arch, int size, int batch) {
  const torch::Device cuda(torch::kCUDA);
  torch::manual_seed(2);
  ResNet net = Copy(MakeResNet(arch, 2), arch, cuda, true);
  torch::optim::AdamW optimizer(net->parameters(), torch::optim::AdamWOptions(1e-3));
  const torch::Tensor x =
      torch::randn({batch, 3, size, size}, cuda).contiguous(torch::MemoryFormat::ChannelsLast);
  const torch::Tensor y =
      torch::randint(0, 2, {batch}, torch::TensorOptions(cuda).dtype(torch::kLong));
  auto step = [&] {
    optimizer.zero_grad();
    torch::nn::functional::cross_entropy(net->forward(x), y).backward();
    optimizer.step();
  };
  for (int i = 0; i < 5; ++i) step();
  torch::cuda::synchronize();
  const int steps = 30;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < steps; ++i) step();
  torch::cuda::synchronize();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("TIME %s %d px batch %d float32 channels-last training step: %.0f images/s\n",
              arch.c_str(), size, batch, steps * batch / s);
}

}  // namespace

int main() {
  if (!torch::cuda::is_available()) {
    std::printf("FAIL no CUDA device visible to this LibTorch\n");
    return 1;
  }
  std::printf("LibTorch %s, %d CUDA device(s)\n", TORCH_VERSION,
              static_cast<int>(torch::cuda::device_count()));
  // Full float32 for the comparisons: by default cuDNN convolutions use TF32 on Ampere and later
  // GPUs (10-bit mantissas), which differs from the CPU by 1e-3 and more.
  at::globalContext().setAllowTF32CuDNN(false);
  at::globalContext().setAllowTF32CuBLAS(false);
  for (const char* arch : {"resnet18", "resnet34", "resnet50"}) CompareDevices(arch);
  SyncBatchNormOnGpu();
  std::printf("float32 without TF32:\n");
  Throughput("resnet34", 128, 64);
  Throughput("resnet50", 128, 64);
  std::printf("TF32 convolutions and matrix products (LibTorch's default on this GPU):\n");
  at::globalContext().setAllowTF32CuDNN(true);
  at::globalContext().setAllowTF32CuBLAS(true);
  Throughput("resnet34", 128, 64);
  Throughput("resnet50", 128, 64);
  std::printf("%s: %d check(s) failed\n", failures == 0 ? "PASS" : "FAIL", failures);
  return failures == 0 ? 0 : 1;
}
