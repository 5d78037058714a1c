#include "data/split.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "absl/status/status.h"
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

namespace {

// The examples of one patient (or healthy donor's slide), and how many of each class it holds.
struct Group {
  std::string name;
  std::vector<int> members;
  std::vector<int> per_class;
};

std::vector<Group> MakeGroups(const Dataset& dataset) {
  std::map<std::string, Group> by_name;
  const int classes = static_cast<int>(dataset.classes.size());
  for (int i = 0; i < static_cast<int>(dataset.examples.size()); ++i) {
    const Example& e = dataset.examples[i];
    const std::string name = e.group.empty() ? absl::StrCat("#", i) : e.group;
    Group& g = by_name[name];
    if (g.members.empty()) {
      g.name = name;
      g.per_class.assign(classes, 0);
    }
    g.members.push_back(i);
    ++g.per_class[e.label];
  }
  std::vector<Group> groups;
  for (auto& [name, g] : by_name) groups.push_back(std::move(g));
  return groups;  // sorted by name
}

// A group's stratum: the set of classes it holds, as a bit mask. Patients with parasitized cells
// (which also have uninfected ones) and healthy donors (uninfected only) fall into different
// strata.
int Stratum(const Group& g) {
  int mask = 0;
  for (size_t c = 0; c < g.per_class.size(); ++c) {
    if (g.per_class[c] > 0) mask |= 1 << c;
  }
  return mask;
}

Split FromValidGroups(const Dataset& dataset, const std::vector<Group>& groups,
                      const std::vector<bool>& valid) {
  Split split;
  for (size_t g = 0; g < groups.size(); ++g) {
    auto& side = valid[g] ? split.valid : split.train;
    side.insert(side.end(), groups[g].members.begin(), groups[g].members.end());
  }
  std::sort(split.valid.begin(), split.valid.end());
  std::sort(split.train.begin(), split.train.end());
  return split;
}

absl::Status CheckBothSidesHoldEveryClass(const Dataset& dataset, const Split& split,
                                          const std::string& what) {
  for (const auto* side : {&split.train, &split.valid}) {
    std::vector<int> counts(dataset.classes.size(), 0);
    for (int i : *side) ++counts[dataset.examples[i].label];
    for (size_t c = 0; c < counts.size(); ++c) {
      if (counts[c] == 0) {
        return absl::FailedPreconditionError(absl::StrCat(
            what, ": the ", side == &split.train ? "training" : "validation", " side has no ",
            dataset.classes[c], " images; the data has too few patients with that class for a ",
            "patient-level split"));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Split> PatientSplit(const Dataset& dataset, double valid_pct, uint64_t seed) {
  const std::vector<Group> groups = MakeGroups(dataset);
  std::map<int, std::vector<int>> strata;  // stratum -> group indices
  for (size_t g = 0; g < groups.size(); ++g) strata[Stratum(groups[g])].push_back(g);
  std::vector<bool> valid(groups.size(), false);
  Rng rng(MixSeed(seed, kSplitStream, 2));
  for (auto& [stratum, members] : strata) {
    rng.Shuffle(members);
    int64_t total = 0;
    for (int g : members) total += groups[g].members.size();
    const double target = valid_pct * total;
    int64_t taken = 0;
    for (size_t j = 0; j < members.size(); ++j) {
      const int64_t size = groups[members[j]].members.size();
      // Take the group if that brings the stratum closer to its target, keeping one group for
      // training.
      if (j + 1 < members.size() && std::abs(taken + size - target) < std::abs(taken - target)) {
        valid[members[j]] = true;
        taken += size;
      }
    }
  }
  Split split = FromValidGroups(dataset, groups, valid);
  if (absl::Status s = CheckBothSidesHoldEveryClass(dataset, split, "patient split"); !s.ok()) {
    return s;
  }
  return split;
}

absl::StatusOr<Split> PatientFold(const Dataset& dataset, int k, int fold, uint64_t seed) {
  if (k < 2 || fold < 0 || fold >= k) {
    return absl::InvalidArgumentError(
        absl::StrCat("patient k-fold needs k >= 2 and 0 <= fold < k, got k=", k, ", fold=", fold));
  }
  const std::vector<Group> groups = MakeGroups(dataset);
  if (static_cast<int>(groups.size()) < k) {
    return absl::FailedPreconditionError(
        absl::StrCat("patient k-fold: ", groups.size(), " patients cannot fill ", k, " folds"));
  }
  std::map<int, std::vector<int>> strata;
  for (size_t g = 0; g < groups.size(); ++g) strata[Stratum(groups[g])].push_back(g);
  std::vector<int> fold_of(groups.size(), 0);
  Rng rng(MixSeed(seed, kSplitStream, 3));
  for (auto& [stratum, members] : strata) {
    // Random order breaks ties; then largest groups first, each into the fold with the fewest
    // images of this stratum so far.
    rng.Shuffle(members);
    std::stable_sort(members.begin(), members.end(), [&](int a, int b) {
      return groups[a].members.size() > groups[b].members.size();
    });
    std::vector<int64_t> load(k, 0);
    for (int g : members) {
      const int f = static_cast<int>(std::min_element(load.begin(), load.end()) - load.begin());
      fold_of[g] = f;
      load[f] += groups[g].members.size();
    }
  }
  std::vector<bool> valid(groups.size());
  for (size_t g = 0; g < groups.size(); ++g) valid[g] = fold_of[g] == fold;
  Split split = FromValidGroups(dataset, groups, valid);
  if (absl::Status s = CheckBothSidesHoldEveryClass(dataset, split,
                                                    absl::StrCat("patient fold ", fold, " of ", k));
      !s.ok()) {
    return s;
  }
  return split;
}

std::vector<std::string> GroupsOf(const Dataset& dataset, const std::vector<int>& indices) {
  std::set<std::string> groups;
  for (int i : indices) groups.insert(dataset.examples[i].group);
  return {groups.begin(), groups.end()};
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
                    dataset.classes[e.label], "\t", e.group, "\n");
  }
  return out;
}

}  // namespace malaria::data
