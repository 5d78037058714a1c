// How fast the data loader delivers training batches, against how fast ResNet-34 training consumes
// them, measured in one run on this machine.
//
//   bazel run //tools:loader_benchmark                    # real 50 px data when present
//   bazel run //tools:loader_benchmark -- --benchmark_filter=Synthetic
//
// Loader rows: decode + augment + normalise a whole epoch with every core, from PNG files (cold:
// no decoded cache) or from the decoded cache (what every epoch after the first does), on the real
// 50 px NIH copy (../shared/data/nih_malaria_50px, or $MALARIA_REAL_DATA) and on synthetic ~130 px
// RGB crops (the original dataset's size). Training rows: one ResNet-34 optimisation step at 64 px,
// batch 64, all cores, with the body frozen (stage 1) and unfrozen (stage 2). The summary divides
// each loader throughput by the faster training throughput: the loader must stay above 5x.
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "base/files.h"
#include "benchmark/benchmark.h"
#include "data/data_config.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "data/synthetic.h"
#include "models/classifier.h"

namespace malaria {
namespace {

constexpr int kTrainSize = 64;
constexpr int kBatch = 64;

std::string RealDataDir() {
  if (const char* env = std::getenv("MALARIA_REAL_DATA"); env != nullptr && *env) return env;
  const char* workspace = std::getenv("BUILD_WORKSPACE_DIRECTORY");
  const std::string root = workspace != nullptr ? workspace : ".";
  const std::string dir = base::JoinPath(root, "../shared/data/nih_malaria_50px/cell_images");
  return base::IsDirectory(dir) ? dir : "";
}

std::string SyntheticDir() {
  static const std::string* dir = [] {
    const std::string d = absl::StrFormat("/tmp/malaria_loader_benchmark_%d/cells", ::getpid());
    data::SyntheticOptions options;
    options.num_images = 1024;
    options.image_size = 130;
    options.seed = 1;
    if (!base::IsDirectory(d)) {
      absl::Status s = data::WriteSyntheticDataset(d, options);
      if (!s.ok()) std::abort();
    }
    return new std::string(d);
  }();
  return *dir;
}

// Loaders over one dataset, built once per (folder, cached) pair.
struct Fixture {
  std::shared_ptr<data::ImageSource> source;
  std::vector<int> indices;
};

Fixture& GetFixture(const std::string& dir, bool cached) {
  static auto* fixtures = new std::map<std::pair<std::string, bool>, Fixture>();
  auto key = std::make_pair(dir, cached);
  auto it = fixtures->find(key);
  if (it != fixtures->end()) return it->second;
  const absl::StatusOr<data::Dataset> ds = data::ScanImageFolder(dir);
  if (!ds.ok()) std::abort();
  Fixture f;
  f.source = std::make_shared<data::ImageSource>(
      data::ImageSource::Load(*ds, kTrainSize, 0, cached ? int64_t{4} << 30 : 0, nullptr));
  for (size_t i = 0; i < f.source->dataset().examples.size(); ++i) f.indices.push_back(i);
  return fixtures->emplace(key, std::move(f)).first->second;
}

void RunEpochs(benchmark::State& state, const std::string& dir, bool cached) {
  if (dir.empty()) {
    state.SkipWithError(
        "real NIH data not found (../shared/data/nih_malaria_50px or $MALARIA_REAL_DATA)");
    return;
  }
  Fixture& f = GetFixture(dir, cached);
  data::DataConfig config;  // fastai's augmentations, as a training run has them
  config.set_batch_size(kBatch);
  config.set_image_size(kTrainSize);
  data::FillDataDefaults(&config);
  data::LoaderOptions o = *data::BuildLoaderOptions(config, data::LoaderRole::kTraining,
                                                    /*seed=*/1, /*default_threads=*/0);
  o.drop_last = false;  // every image counts in the throughput
  data::BatchLoader loader(f.source, f.indices, o);
  int epoch = 0;
  int64_t images = 0;
  for (auto _ : state) {
    loader.StartEpoch(epoch++);
    data::Batch batch;
    while (*loader.Next(&batch)) images += batch.size;
  }
  state.SetItemsProcessed(images);
}

void BM_Loader_Real50px_Cold(benchmark::State& state) { RunEpochs(state, RealDataDir(), false); }
void BM_Loader_Real50px_Cached(benchmark::State& state) { RunEpochs(state, RealDataDir(), true); }
void BM_Loader_Synthetic130px_Cold(benchmark::State& state) {
  RunEpochs(state, SyntheticDir(), false);
}
void BM_Loader_Synthetic130px_Cached(benchmark::State& state) {
  RunEpochs(state, SyntheticDir(), true);
}

void TrainStep(benchmark::State& state, int freeze_to) {
  at::set_num_threads(std::max(1u, std::thread::hardware_concurrency()));
  models::ModelConfig config;
  config.set_architecture("resnet34");
  models::Classifier model = *models::BuildClassifier(config, 2);
  model->FreezeTo(freeze_to, /*train_bn=*/true);
  model->train();
  std::vector<torch::Tensor> params;
  for (const auto& p : model->parameters()) {
    if (p.requires_grad()) params.push_back(p);
  }
  torch::optim::AdamW optimizer(params, torch::optim::AdamWOptions(1e-3));
  const torch::Tensor x = torch::randn({kBatch, 3, kTrainSize, kTrainSize});
  const torch::Tensor y = torch::randint(0, 2, {kBatch}, torch::kLong);
  for (auto _ : state) {
    torch::Tensor loss = torch::nn::functional::cross_entropy(model->forward(x), y);
    model->zero_grad(true);
    loss.backward();
    optimizer.step();
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}

void BM_Train_ResNet34_64px_Frozen(benchmark::State& state) { TrainStep(state, -1); }
void BM_Train_ResNet34_64px_Unfrozen(benchmark::State& state) { TrainStep(state, 0); }

BENCHMARK(BM_Loader_Real50px_Cold)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2);
BENCHMARK(BM_Loader_Real50px_Cached)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2);
BENCHMARK(BM_Loader_Synthetic130px_Cold)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2);
BENCHMARK(BM_Loader_Synthetic130px_Cached)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(2);
BENCHMARK(BM_Train_ResNet34_64px_Frozen)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(5);
BENCHMARK(BM_Train_ResNet34_64px_Unfrozen)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(5);

// Prints the usual table and remembers items/s per benchmark for the summary.
class Collector : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      if (run.error_occurred) continue;
      auto it = run.counters.find("items_per_second");
      const std::string name = run.benchmark_name();
      if (it != run.counters.end()) rates[name.substr(0, name.find('/'))] = it->second.value;
    }
  }
  std::map<std::string, double> rates;
};

}  // namespace
}  // namespace malaria

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  malaria::Collector collector;
  benchmark::RunSpecifiedBenchmarks(&collector);
  double consumption = 0;
  for (const auto& [name, rate] : collector.rates) {
    if (name.find("BM_Train_") == 0) consumption = std::max(consumption, rate);
  }
  if (consumption <= 0) return 0;
  absl::PrintF(
      "\nLoader throughput against ResNet-34 training at %d px (fastest stage: %.1f img/s):\n",
      malaria::kTrainSize, consumption);
  absl::PrintF("%-34s %10s %11s\n", "loader (all cores)", "images/s", "x training");
  for (const auto& [name, rate] : collector.rates) {
    if (name.find("BM_Loader_") != 0) continue;
    absl::PrintF("%-34s %10.0f %10.1fx%s\n", name, rate, rate / consumption,
                 rate / consumption >= 5 ? "" : "  (below the 5x target)");
  }
  std::filesystem::remove_all(absl::StrFormat("/tmp/malaria_loader_benchmark_%d", ::getpid()));
  return 0;
}
