// Listing a large tracker root: 2,000 hand-made runs (20 experiments), the JSON the runs view
// asks for, cold (every run read from disk, as after a restart) and warm (the modification-time
// cache: a few stat calls per run). The bar: 2,000 runs listed in under a second here.
//
//   bazel run //tools:dashboard_benchmark
#include "benchmark/benchmark.h"

#include <filesystem>
#include <string>

#include "absl/strings/str_format.h"
#include "base/files.h"
#include "tools/dashboard/fixture.h"
#include "tools/dashboard/handler.h"

namespace malaria::tools {
namespace {

constexpr int kRuns = 2000;

const std::string& Root() {
  static const std::string* const root = [] {
    auto* path = new std::string(
        (std::filesystem::temp_directory_path() / "malaria_dashboard_benchmark").string());
    std::filesystem::remove_all(*path);
    for (int i = 0; i < kRuns; ++i) {
      FixtureRun r = ManyFixture(i);
      r.epochs = 8;
      r.epochs_done = 8;
      if (!WriteFixtureRun(*path, r).ok()) std::abort();
    }
    return path;
  }();
  return *root;
}

void BM_ListRunsCold(benchmark::State& state) {
  const std::string& root = Root();
  size_t bytes = 0;
  for (auto _ : state) {
    DashboardHandler handler(root);  // a fresh cache: every run read
    bytes = handler.RunsJson("").size();
    benchmark::DoNotOptimize(bytes);
  }
  state.counters["runs"] = kRuns;
  state.counters["json_MB"] = bytes / 1e6;
}
BENCHMARK(BM_ListRunsCold)->Unit(benchmark::kMillisecond)->Iterations(3);

void BM_ListRunsWarm(benchmark::State& state) {
  DashboardHandler handler(Root());
  handler.RunsJson("");
  for (auto _ : state) benchmark::DoNotOptimize(handler.RunsJson("").size());
  state.counters["runs"] = kRuns;
}
BENCHMARK(BM_ListRunsWarm)->Unit(benchmark::kMillisecond);

void BM_SearchRunsWarm(benchmark::State& state) {
  DashboardHandler handler(Root());
  handler.RunsJson("");
  for (auto _ : state) benchmark::DoNotOptimize(handler.RunsJson("experiment_07 0.003").size());
}
BENCHMARK(BM_SearchRunsWarm)->Unit(benchmark::kMillisecond);

void BM_CompareTwentyRuns(benchmark::State& state) {
  DashboardHandler handler(Root());
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    ids.push_back(absl::StrFormat("experiment_%02d/20261201-%06d", i % 20, i));
  }
  handler.RunsJson("");
  for (auto _ : state) benchmark::DoNotOptimize(handler.CompareJson(ids).size());
}
BENCHMARK(BM_CompareTwentyRuns)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace malaria::tools

BENCHMARK_MAIN();
