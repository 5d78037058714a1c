#include "data/split.h"

#include <algorithm>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "data/random.h"

namespace malaria::data {

Split RandomSplit(int n, double valid_pct, uint64_t seed) {
  std::vector<int> order(n);
  for (int i = 0; i < n; ++i) order[i] = i;
  Rng rng(MixSeed(seed, kSplitStream));
  rng.Shuffle(order);
  const int cut = static_cast<int>(valid_pct * n);
  Split split;
  split.valid.assign(order.begin(), order.begin() + cut);
  split.train.assign(order.begin() + cut, order.end());
  std::sort(split.valid.begin(), split.valid.end());
  std::sort(split.train.begin(), split.train.end());
  return split;
}

std::vector<int> StratifiedSubset(const Dataset& dataset, int max_images, uint64_t seed) {
  const int n = static_cast<int>(dataset.examples.size());
  std::vector<int> all(n);
  for (int i = 0; i < n; ++i) all[i] = i;
  if (max_images <= 0 || max_images >= n) return all;
  std::vector<std::vector<int>> by_class(dataset.classes.size());
  for (int i = 0; i < n; ++i) by_class[dataset.examples[i].label].push_back(i);
  Rng rng(MixSeed(seed, kSubsetStream));
  std::vector<int> chosen;
  for (std::vector<int>& members : by_class) {
    const int take =
        std::max<int>(1, static_cast<int>(static_cast<int64_t>(members.size()) * max_images / n));
    rng.Shuffle(members);
    chosen.insert(chosen.end(), members.begin(),
                  members.begin() + std::min<int>(take, members.size()));
  }
  std::sort(chosen.begin(), chosen.end());
  return chosen;
}

std::string SplitListing(const Dataset& dataset, const std::vector<int>& indices) {
  std::string out;
  const std::filesystem::path root(dataset.root);
  for (int i : indices) {
    const Example& e = dataset.examples[i];
    absl::StrAppend(&out, std::filesystem::path(e.path).lexically_relative(root).string(), "\t",
                    dataset.classes[e.label], "\n");
  }
  return out;
}

}  // namespace malaria::data
