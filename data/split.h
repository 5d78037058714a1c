// Dividing a dataset into training and validation sets, reproducibly from a seed.
//
//   Split split = RandomSplit(dataset.examples.size(), /*valid_pct=*/0.2, seed);
//   Dataset train = SubsetOf(dataset, split.train), valid = SubsetOf(dataset, split.valid);
#ifndef MALARIA_DATA_SPLIT_H_
#define MALARIA_DATA_SPLIT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "data/dataset.h"

namespace malaria::data {

// Indices into a dataset's examples, each list sorted ascending.
struct Split {
  std::vector<int> train;
  std::vector<int> valid;
};

// RandomSplit is fastai's split_by_rand_pct: a random permutation of [0, n), its first
// int(valid_pct * n) entries held out for validation. Same (n, valid_pct, seed), same split.
Split RandomSplit(int n, double valid_pct, uint64_t seed);

// PatientSplit holds out whole patients: every group (Example::group, the patient or healthy
// donor's slide) is on one side only. Groups are drawn at random from the seed within two strata
// (groups with parasitized cells, and groups with none) until each stratum's validation share
// reaches valid_pct of its images, so both sides hold both classes. An example with no group forms
// a group of its own. FailedPrecondition when the data cannot give both sides every class (for
// example, all parasitized cells come from one patient).
absl::StatusOr<Split> PatientSplit(const Dataset& dataset, double valid_pct, uint64_t seed);

// PatientFolds assigns every group to one of `k` folds (k >= 2), balancing the images per fold
// within each stratum, as in the NLM group's patient-level cross-validation of this dataset.
// Returns the split whose validation side is fold `fold` (0-based). FailedPrecondition when a fold
// would lack a class or k exceeds the groups available.
absl::StatusOr<Split> PatientFold(const Dataset& dataset, int k, int fold, uint64_t seed);

// GroupsOf returns the distinct groups of the examples at `indices`, sorted.
std::vector<std::string> GroupsOf(const Dataset& dataset, const std::vector<int>& indices);

// StratifiedSubset returns the sorted indices of at most `max_images` examples, keeping each
// class's share (rounded down, at least one per class), chosen at random from the seed. max_images
// <= 0 or
// >= the dataset's size returns every index.
std::vector<int> StratifiedSubset(const Dataset& dataset, int max_images, uint64_t seed);

// SplitListing returns one line per example, "path<TAB>class<TAB>group\n", for the run
// directory's record of which images each side of a split held.
std::string SplitListing(const Dataset& dataset, const std::vector<int>& indices);

}  // namespace malaria::data

#endif  // MALARIA_DATA_SPLIT_H_
