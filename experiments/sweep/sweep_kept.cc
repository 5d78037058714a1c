// What run_sweep keeps of a sweep under the tracker root, and reading a sweep back from it.
#include <algorithm>
#include <filesystem>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/files.h"
#include "base/text_proto.h"
#include "experiments/sweep/sweep_spec.h"
#include "experiments/sweep/sweep_state.h"
#include "google/protobuf/util/message_differencer.h"

namespace malaria::experiments {

std::string KeptSweepConfigPath(const std::string& root, const std::string& name) {
  return base::JoinPath(root, absl::StrCat("sweeps/", name, ".pbtxt"));
}

std::vector<std::string> ListSweeps(const std::string& root) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(base::JoinPath(root, "sweeps"), ec)) {
    const std::string file = e.path().filename().string();
    if (e.is_regular_file(ec) && absl::EndsWith(file, ".pbtxt")) {
      names.push_back(std::string(absl::StripSuffix(file, ".pbtxt")));
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

absl::StatusOr<KeptSweep> ReadKeptSweep(const std::string& root, const std::string& name) {
  const std::string path = KeptSweepConfigPath(root, name);
  absl::StatusOr<std::string> text = base::ReadFile(path);
  if (!text.ok()) {
    if (absl::IsNotFound(text.status())) {
      return absl::NotFoundError(
          absl::StrCat("no sweep '", name, "' under ", root, " (no ", path, ")"));
    }
    return text.status();
  }
  KeptSweep kept;
  if (base::ParseTextProto(*text, path, &kept).ok()) return kept;
  // Kept by an earlier version: the sweep config alone.
  absl::StatusOr<SweepConfig> config = ParseSweepConfig(*text, path);
  if (!config.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the kept sweep ", path, " cannot be read: ", config.status().message()));
  }
  *kept.mutable_config() = *std::move(config);
  return kept;
}

std::string ExperimentChanges(const ExperimentConfig& kept, const ExperimentConfig& now,
                              int max_lines) {
  std::string report;
  {
    google::protobuf::util::MessageDifferencer differ;
    differ.ReportDifferencesToString(&report);
    differ.Compare(kept, now);
  }
  std::vector<std::string> lines = absl::StrSplit(report, '\n', absl::SkipEmpty());
  std::string out;
  for (size_t i = 0; i < lines.size() && i < static_cast<size_t>(max_lines); ++i) {
    absl::StrAppend(&out, "  ", lines[i], "\n");
  }
  if (lines.size() > static_cast<size_t>(max_lines)) {
    absl::StrAppend(&out, "  ... and ", lines.size() - max_lines, " more\n");
  }
  return out;
}

absl::StatusOr<SweepRecord> ReadSweep(const std::string& root, const std::string& name,
                                      const std::vector<LoadedRun>& runs, const std::string& host) {
  // Only a sweep's own name: never a path out of <root>/sweeps.
  if (!ValidSweepName(name))
    return absl::NotFoundError(absl::StrCat("no sweep named '", name, "'"));
  absl::StatusOr<KeptSweep> kept = ReadKeptSweep(root, name);
  if (!kept.ok()) return kept.status();
  SweepConfig& config = *kept->mutable_config();
  if (!config.has_name()) config.set_name(name);
  // A kept file is read as it is: a plan too large to list is named, not listed.
  if (absl::Status s = ValidateSweepShape(config); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(KeptSweepConfigPath(root, name), ": ", s.message()));
  }
  std::vector<LoadedRun> mine;
  int k = kept->experiment_folds();
  const bool legacy = k <= 0;
  for (const LoadedRun& r : runs) {
    if (r.info.sweep().sweep() != name) continue;
    mine.push_back(r);
    if (legacy) k = std::max(k, r.config.data().split().patient_kfold().folds());
  }
  if (legacy) {
    for (int f : config.folds()) k = std::max(k, f + 1);
  }
  absl::StatusOr<SweepState> state = ReadSweepState(config, k, mine, host);
  if (!state.ok()) return state.status();
  return SweepRecord{std::move(config), *std::move(state)};
}

}  // namespace malaria::experiments
