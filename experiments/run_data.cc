#include "experiments/run_data.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/files.h"
#include "data/data_config.h"
#include "data/dataset.h"
#include "glog/logging.h"

namespace malaria::experiments {
namespace {

// Paths in configs are relative to the workspace (the folder holding WORKSPACE).
std::string InWorkspace(const std::string& workspace, const std::string& path) {
  return std::filesystem::path(base::JoinPath(workspace, path)).lexically_normal().string();
}

// A configured data folder: it must be there, and be a folder.
absl::Status RequireFolder(const std::string& setting, const std::string& path) {
  if (base::IsDirectory(path)) return absl::OkStatus();
  if (base::PathExists(path)) {
    return absl::InvalidArgumentError(
        absl::StrCat(setting, ": ", path,
                     " is a file, not a data folder (give the folder that "
                     "holds Parasitized/ and Uninfected/)"));
  }
  return absl::NotFoundError(absl::StrCat(setting, ": data folder ", path, " does not exist"));
}

std::string Banner(const std::vector<std::string>& lines) {
  const std::string rule(78, '=');
  return absl::StrCat(rule, "\n", absl::StrJoin(lines, "\n"), "\n", rule, "\n");
}

}  // namespace

data::SyntheticOptions SyntheticOptionsOf(const ExperimentConfig& config) {
  return data::BuildSyntheticOptions(config.data().synthetic_fallback(), config.seed());
}

absl::StatusOr<ResolvedData> ResolveData(const ExperimentConfig& config,
                                         const std::string& workspace) {
  ResolvedData r;
  if (!config.data().path().empty()) {
    r.path = InWorkspace(workspace, config.data().path());
    r.source = "data.path";
    if (absl::Status s = RequireFolder("data.path", r.path); !s.ok()) return s;
    return r;
  }
  if (const char* env = std::getenv("MALARIA_DATA"); env != nullptr && *env != '\0') {
    r.path = base::ResolveUserPath(env);
    r.source = "$MALARIA_DATA";
    if (absl::Status s = RequireFolder("$MALARIA_DATA", r.path); !s.ok()) return s;
    return r;
  }
  const std::string local = base::JoinPath(workspace, "data/nih_malaria/cell_images");
  if (base::IsDirectory(local)) {
    r.path = local;
    r.source = "the workspace";
    return r;
  }
  absl::StatusOr<std::string> dir = data::EnsureSyntheticDataset(
      base::JoinPath(workspace, "data/cache"), SyntheticOptionsOf(config));
  if (!dir.ok()) return dir.status();
  r.path = *dir;
  r.kind = DatasetInfo::SYNTHETIC;
  r.source = "the embedded synthetic default";
  return r;
}

void ApplySyntheticFallback(const ResolvedData& data, ExperimentConfig* config,
                            std::vector<std::string>* warnings, std::FILE* out) {
  if (data.kind != DatasetInfo::SYNTHETIC) return;
  const data::SyntheticFallback& f = config->data().synthetic_fallback();
  config->mutable_data()->set_image_size(f.image_size());
  config->mutable_data()->set_max_images(0);
  warnings->push_back(absl::StrCat(
      "No dataset found (data.path unset, $MALARIA_DATA unset, no data/nih_malaria/cell_images "
      "in the workspace): training on the SYNTHETIC dataset in ",
      data.path, " instead. Its numbers say nothing about malaria. Fallback settings applied: ",
      f.num_images(), " images of ", f.source_size(), " px, data.image_size=", f.image_size(),
      "."));
  absl::FPrintF(out, "%s",
                Banner({" NO DATASET FOUND: training on the embedded SYNTHETIC dataset.",
                        absl::StrCat(" ", data.path),
                        " Its numbers say nothing about malaria. For the real NIH data, see",
                        " README.md (\"Using the real data\"), or --set data.path=DIR.",
                        absl::StrFormat(" Fallback: %d images of %d px, trained at %d px.",
                                        f.num_images(), f.source_size(), f.image_size())}));
}

absl::StatusOr<std::vector<std::string>> ReadExcludeList(const std::string& path) {
  absl::StatusOr<std::string> text = base::ReadFile(path);
  if (!text.ok()) {
    return absl::Status(text.status().code(),
                        absl::StrCat("data.exclude: ", text.status().message()));
  }
  std::vector<std::string> names;
  for (absl::string_view line : absl::StrSplit(*text, '\n', absl::SkipWhitespace())) {
    line = absl::StripAsciiWhitespace(line);
    const absl::string_view first = line.substr(0, line.find_first_of(",\t"));
    if (names.empty() && (first == "path" || absl::StartsWith(first, "#"))) continue;
    if (absl::StartsWith(first, "#")) continue;
    names.emplace_back(first);
  }
  return names;
}

absl::StatusOr<RunData> LoadRunData(const ExperimentConfig& config, const ResolvedData& where,
                                    int threads, std::FILE* out) {
  absl::FPrintF(out, "Experiment %s: reading %s (%s)\n", config.name(), where.path, where.source);
  absl::StatusOr<data::Dataset> scanned = data::ScanImageFolder(where.path);
  if (!scanned.ok()) return scanned.status();
  RunData d;
  d.classes = scanned->classes;
  d.ignored_files = scanned->ignored_files;
  for (const std::string& folder : scanned->repeated_folders) {
    const std::string warning =
        absl::StrCat("data.path: skipped ", folder, "; its images are read once");
    LOG(WARNING) << warning;
    absl::FPrintF(out, "WARNING: %s\n", warning);
    d.warnings.push_back(warning);
  }
  const auto positive =
      std::find(d.classes.begin(), d.classes.end(), config.evaluation().positive_class());
  if (positive == d.classes.end()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "evaluation.positive_class: '", config.evaluation().positive_class(),
        "' is not a class of ", where.path, " (classes: ", absl::StrJoin(d.classes, ", "), ")"));
  }
  d.positive = static_cast<int>(positive - d.classes.begin());
  const data::Dataset dataset = data::SubsetOf(
      *scanned, data::StratifiedSubset(*scanned, config.data().max_images(), config.seed()));

  // Decode everything once (the cache), finding unreadable files before anything trains.
  d.source = std::make_shared<data::ImageSource>(data::ImageSource::Load(
      dataset, config.data().image_size(),
      config.data().loader_threads() > 0 ? config.data().loader_threads() : threads,
      static_cast<int64_t>(config.data().cache_mib()) << 20, &d.bad));
  for (const data::BadImage& b : d.bad) LOG(WARNING) << "skipping unreadable image: " << b.error;
  if (!d.bad.empty() && config.data().strict()) {
    return absl::DataLossError(absl::StrCat(
        d.bad.size(), " unreadable image(s) and data.strict is set; the first: ", d.bad[0].error));
  }
  if (!d.bad.empty()) {
    d.warnings.push_back(
        absl::StrCat(d.bad.size(), " unreadable image(s) skipped; the first: ", d.bad[0].error));
    absl::FPrintF(
        out, "WARNING: %d unreadable image(s) skipped (listed in run_info.pbtxt); the first: %s\n",
        d.bad.size(), d.bad[0].error);
  }
  const std::vector<int> counts = d.source->dataset().CountPerClass();
  for (size_t c = 0; c < counts.size(); ++c) {
    if (counts[c] == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("class ", d.classes[c], " of ", where.path, " has no readable images"));
    }
  }
  absl::StatusOr<data::Split> split =
      data::BuildSplit(config.data().split(), d.source->dataset(), config.seed());
  if (!split.ok()) return split.status();
  d.split = *std::move(split);
  if (!config.data().exclude().empty()) {
    const std::string list = config.data().exclude();
    absl::StatusOr<std::vector<std::string>> names = ReadExcludeList(list);
    if (!names.ok()) return names.status();
    const data::Dataset& ds = d.source->dataset();
    std::map<std::string, int> index;  // relative path -> example
    for (size_t i = 0; i < ds.examples.size(); ++i) {
      index[std::filesystem::path(ds.examples[i].path).lexically_relative(ds.root).string()] =
          static_cast<int>(i);
    }
    std::set<int> leave_out;
    for (const std::string& name : *names) {
      auto it = index.find(name);
      if (it == index.end()) {
        ++d.not_found;
      } else {
        leave_out.insert(it->second);
      }
    }
    if (d.not_found > 0) {
      const std::string message =
          absl::StrCat("data.exclude: ", d.not_found, " of the ", names->size(), " names in ", list,
                       " are not images of ", where.path);
      if (config.data().strict()) return absl::InvalidArgumentError(message + " (data.strict)");
      d.warnings.push_back(message);
      absl::FPrintF(out, "WARNING: %s\n", message);
    }
    std::vector<int> kept;
    for (int i : d.split.train) {
      if (leave_out.count(i) == 0) kept.push_back(i);
    }
    d.excluded = static_cast<int>(d.split.train.size() - kept.size());
    d.split.train = std::move(kept);
    absl::FPrintF(out, "data.exclude: %d training image(s) left out (%s); validation keeps all\n",
                  d.excluded, list);
  }
  if (d.split.train.size() < static_cast<size_t>(config.data().batch_size()) ||
      d.split.valid.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("data: ", d.split.train.size(), " training and ", d.split.valid.size(),
                     " validation images; training needs at least one batch (data.batch_size=",
                     config.data().batch_size(), ") and validation at least one image"));
  }
  return d;
}

void DescribeData(const ResolvedData& where, const RunData& d, RunInfo* info) {
  DatasetInfo* di = info->mutable_dataset();
  di->Clear();
  di->set_kind(where.kind);
  di->set_path(where.path);
  const std::vector<int> counts = d.source->dataset().CountPerClass();
  for (size_t c = 0; c < d.classes.size(); ++c) {
    di->add_classes(d.classes[c]);
    di->add_images_per_class(counts[c]);
  }
  di->set_fingerprint(data::Fingerprint(d.source->dataset()));
  di->set_train_images(d.split.train.size());
  di->set_valid_images(d.split.valid.size());
  di->set_unreadable_images(d.bad.size());
  for (size_t b = 0; b < d.bad.size() && b < 100; ++b) di->add_unreadable_files(d.bad[b].error);
  di->set_ignored_files(d.ignored_files);
  if (d.excluded > 0 || d.not_found > 0) {
    di->set_excluded_images(d.excluded);
    di->set_exclude_not_found(d.not_found);
  }
}

}  // namespace malaria::experiments
