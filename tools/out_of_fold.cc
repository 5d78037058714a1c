// Pools a patient k-fold experiment's out-of-fold predictions, judges them with intervals by
// patient, fits the threshold and diagnosis rule on every patient's predictions, checks those rules
// by nesting, and keeps it all in <root>/out_of_fold/<experiment>/ — what `run_experiment
// --all_folds` does after its last fold, for folds already run (by a sweep, by hand, by a
// teammate).
//
//   bazel run //tools:out_of_fold -- runs/nih50_speedrun_kfold
//
// Exit status: 0 written; 2 nothing written (no such folder, no complete k-fold experiment in it).
#include "experiments/store/out_of_fold.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/files.h"
#include "base/flags.h"
#include "base/main.h"
#include "experiments/store/kfold.h"
#include "experiments/store/run_reader.h"

namespace malaria {
namespace {

absl::StatusOr<int> Main(int argc, char** argv) {
  std::vector<std::string> folders;
  int new_patients = 0;
  base::FlagParser flags("out_of_fold EXPERIMENT_FOLDER",
                         "Pools a k-fold experiment's out-of-fold predictions, with intervals by "
                         "patient, fits and checks its rules, and keeps them beside its runs.");
  flags.Int("new_patients", &new_patients,
            "the prediction interval's group of new patients (default: as many as pooled)");
  flags.PositionalPaths("EXPERIMENT_FOLDER", &folders);
  absl::StatusOr<bool> go = flags.Parse(argc, argv);
  if (!go.ok()) return go.status();
  if (!*go) return base::kExitOk;
  if (folders.size() != 1) {
    return absl::InvalidArgumentError(absl::StrCat("give one experiment folder\n", flags.Usage()));
  }
  if (new_patients < 0 || new_patients > 100000) {
    return absl::InvalidArgumentError(
        absl::StrCat("--new_patients: '", new_patients, "' is not in [0, 100000]"));
  }
  const std::string& folder = folders[0];
  if (!base::IsDirectory(folder)) {
    return absl::NotFoundError(absl::StrCat(folder, " is not a folder"));
  }
  std::vector<experiments::LoadedRun> runs;
  for (const std::string& dir : experiments::FindRuns(folder)) {
    absl::StatusOr<experiments::LoadedRun> run = experiments::LoadRun(dir);
    if (run.ok()) runs.push_back(*std::move(run));
  }
  std::vector<experiments::KFoldSummary> summaries = experiments::SummarizeKFolds(runs);
  if (summaries.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(folder, " holds no completed run of a patient k-fold experiment"));
  }
  experiments::AddOutOfFold(&summaries, runs);
  int written = 0;
  for (experiments::KFoldSummary& s : summaries) {
    absl::PrintF("%s", experiments::KFoldText(s));
    if (!s.pooled) continue;
    absl::StatusOr<std::string> kept = experiments::KeepOutOfFold(&s, folder, new_patients);
    if (!kept.ok()) return base::AfterWriting(kept.status());
    absl::PrintF("%s", *kept);
    ++written;
  }
  if (written == 0) {
    return absl::FailedPreconditionError("no experiment there has every fold's predictions");
  }
  return base::kExitOk;
}

}  // namespace
}  // namespace malaria

int main(int argc, char** argv) { return malaria::base::RunMain(argc, argv, malaria::Main); }
