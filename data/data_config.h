// The rules, defaults and builders of data_config.proto, beside it: every use of a DataConfig field
// is one hop from here.
//
//   FillDataDefaults(&config);                           // the split, ImageNet statistics
//   ValidateDataConfig(config, problems.In("data"));     // each broken rule, naming its field
//   absl::StatusOr<Split> split = BuildSplit(config.split(), dataset, seed);
//   absl::StatusOr<LoaderOptions> train =
//       BuildLoaderOptions(config, LoaderRole::kTraining, seed, /*default_threads=*/2);
#ifndef MALARIA_DATA_DATA_CONFIG_H_
#define MALARIA_DATA_DATA_CONFIG_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "base/problems.h"
#include "data/data_config.pb.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "data/split.h"

namespace malaria::data {

// FillDataDefaults writes out the defaults a proto2 field cannot declare: the study's random split
// (valid_pct 0.2) when no split is set, and ImageNet's normalisation statistics (kImageNetMean,
// kImageNetStd) when none are given.
void FillDataDefaults(DataConfig* config);

// ValidateDataConfig adds to `problems` every rule `config` breaks (sizes, counts, fractions and
// probabilities in range, three normalisation values, a known split), each under its field path.
void ValidateDataConfig(const DataConfig& config, const base::ConfigProblems& problems);

// Which loader BuildLoaderOptions describes.
enum class LoaderRole {
  kTraining,    // shuffled each epoch, the last incomplete batch dropped, augmented as configured
  kEvaluation,  // the images in order, every one of them, never augmented
};

// BuildLoaderOptions returns the loader options `config` describes for `role`: batch and image
// size, normalisation, prefetching, loader threads (data.loader_threads, or `default_threads` when
// it is 0) and, for training, the augmentation. `seed` fixes the orders and augmentation draws.
// InvalidArgument naming the field when the normalisation does not have three values per statistic.
absl::StatusOr<LoaderOptions> BuildLoaderOptions(const DataConfig& config, LoaderRole role,
                                                 uint64_t seed, int default_threads);

// BuildSplit returns the split `config` asks for over `dataset`, drawn from `seed` (from
// config.seed instead when it is set): random (the
// study's), patient-level, or one fold of patient-level k-fold cross-validation. InvalidArgument
// for a split that is not set (FillDataDefaults sets one) or unknown; FailedPrecondition naming
// the field when the data cannot be split that way.
absl::StatusOr<Split> BuildSplit(const SplitConfig& config, const Dataset& dataset, uint64_t seed);

}  // namespace malaria::data

#endif  // MALARIA_DATA_DATA_CONFIG_H_
