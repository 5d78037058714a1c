// Forward and forward+backward throughput of the model zoo's ResNets on this machine's CPU.
//
//   bazel run //models:resnet_benchmark
//   bazel run //models:resnet_benchmark -- --benchmark_filter='resnet34/.*/64/'
//
// Rows: BM_<forward|train>/<arch>/<image size>/<batch>/<nchw|channels_last>; images/s in the
// items_per_second column. Every core is used. `train` is one SGD-free forward+backward pass (the
// optimizer step is not part of it).
#include <torch/torch.h>

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "benchmark/benchmark.h"
#include "models/classifier.h"
#include "models/resnet.h"

namespace malaria::models {
namespace {

const char* kArchs[] = {"resnet34", "resnet50"};

void Run(benchmark::State& state, bool backward) {
  at::set_num_threads(std::max(1u, std::thread::hardware_concurrency()));
  const std::string arch = kArchs[state.range(0)];
  const int64_t size = state.range(1), batch = state.range(2);
  const bool channels_last = state.range(3) != 0;
  state.SetLabel(arch + (channels_last ? " channels_last" : " nchw"));
  torch::manual_seed(0);
  ResNet net = MakeResNet(arch, 2);
  torch::Tensor x = torch::randn({batch, 3, size, size});
  if (channels_last) {
    models::ToChannelsLast(*net);
    x = x.contiguous(torch::MemoryFormat::ChannelsLast);
  }
  if (backward) {
    net->train();
    const torch::Tensor y = torch::randint(0, 2, {batch}, torch::kLong);
    for (auto _ : state) {
      net->zero_grad(true);
      torch::nn::functional::cross_entropy(net->forward(x), y).backward();
    }
  } else {
    net->eval();
    torch::NoGradGuard no_grad;
    for (auto _ : state) benchmark::DoNotOptimize(net->forward(x));
  }
  state.SetItemsProcessed(state.iterations() * batch);
}

void BM_forward(benchmark::State& state) { Run(state, false); }
void BM_train(benchmark::State& state) { Run(state, true); }

void Grid(benchmark::internal::Benchmark* b) {
  b->ArgNames({"arch", "px", "batch", "channels_last"});
  for (int arch : {0, 1}) {
    for (int px : {64, 128, 170}) {
      for (int batch : {32, 64}) {
        for (int cl : {0, 1}) b->Args({arch, px, batch, cl});
      }
    }
  }
  b->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(0.5);
}

BENCHMARK(BM_forward)->Apply(Grid);
BENCHMARK(BM_train)->Apply(Grid);

}  // namespace
}  // namespace malaria::models

BENCHMARK_MAIN();
