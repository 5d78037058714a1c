// The runner's data steps, each its own function: find the data a config asks for (or make the
// synthetic default), then decode it, check it against the config and split it. No LibTorch.
//
//   absl::StatusOr<ResolvedData> where = ResolveData(config, workspace);
//   ApplySyntheticFallback(*where, &config, &warnings, out);  // fallback sizes, loud banner
//   absl::StatusOr<RunData> data = LoadRunData(config, *where, /*threads=*/2, out);
//   DescribeData(*where, *data, &run_info);
#ifndef MALARIA_EXPERIMENTS_RUN_DATA_H_
#define MALARIA_EXPERIMENTS_RUN_DATA_H_

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "data/loader.h"
#include "data/split.h"
#include "data/synthetic.h"
#include "experiments/experiment.pb.h"
#include "experiments/store/run_info.pb.h"

namespace malaria::experiments {

// Where a run's images are.
struct ResolvedData {
  std::string path;
  DatasetInfo::Kind kind = DatasetInfo::REAL;
  std::string source;  // how it was found, for the log: "data.path", "$MALARIA_DATA", ...
};

// ResolveData finds the data folder: data.path (relative to `workspace`), else $MALARIA_DATA,
// else <workspace>/data/nih_malaria/cell_images, else the synthetic default, generated once into
// <workspace>/data/cache. NotFound naming the setting when a configured folder does not exist,
// InvalidArgument when it is a file.
absl::StatusOr<ResolvedData> ResolveData(const ExperimentConfig& config,
                                         const std::string& workspace);

// SyntheticOptionsOf returns the synthetic default's settings (data.synthetic_fallback, seed).
data::SyntheticOptions SyntheticOptionsOf(const ExperimentConfig& config);

// ApplySyntheticFallback, for synthetic data only: sets data.image_size from the fallback and
// lifts data.max_images, adds the warning the run records to `warnings`, and prints the banner
// saying the numbers mean nothing about malaria. Real data is left alone.
void ApplySyntheticFallback(const ResolvedData& data, ExperimentConfig* config,
                            std::vector<std::string>* warnings, std::FILE* out);

// A run's data, decoded, checked and split.
struct RunData {
  std::vector<std::string> classes;
  int positive = 0;  // index of evaluation.positive_class
  int ignored_files = 0;
  std::vector<data::BadImage> bad;  // unreadable images, skipped
  std::shared_ptr<data::ImageSource> source;
  data::Split split;
  std::vector<std::string> warnings;
  int excluded = 0;   // training images data.exclude left out
  int not_found = 0;  // names in data.exclude that are not images of the data
};

// ReadExcludeList reads data.exclude's list (file `path`): paths relative to the data folder, one
// per line or as the first column of a CSV (a header line starting with "path" skipped).
absl::StatusOr<std::vector<std::string>> ReadExcludeList(const std::string& path);

// LoadRunData scans `where`, keeps data.max_images of it, decodes every image once on `threads`
// threads (finding unreadable ones before anything trains), splits it as data.split says, and
// leaves data.exclude's images out of training (a relative list path: from the current folder;
// the runner resolves it from the workspace first).
// Errors name what is wrong: a positive class the data lacks (evaluation.positive_class),
// unreadable images with data.strict, a class without readable images, a split that cannot be
// made, or too few images for one training batch.
absl::StatusOr<RunData> LoadRunData(const ExperimentConfig& config, const ResolvedData& where,
                                    int threads, std::FILE* out);

// DescribeData records the data in run_info: kind, path, classes and counts, fingerprint, split
// sizes, unreadable and ignored files.
void DescribeData(const ResolvedData& where, const RunData& data, RunInfo* info);

}  // namespace malaria::experiments

#endif  // MALARIA_EXPERIMENTS_RUN_DATA_H_
