// Lists the images whose labels the models of a patient-level k-fold run contradict with high
// confidence (see tools/suspects.h), as a CSV and a PNG contact sheet for a microscopist:
//
//   for f in 0 1 2 3 4; do
//     bazel run //experiments:resnet34_patient_kfold -- --set data.split.patient_kfold.fold=$f
//   done
//   bazel run //tools:suspect_labels -- runs/resnet34_patient_kfold
//
// Every fold 0..k-1 needs a COMPLETED run (the latest is used) over the same data; their
// validation predictions together are out-of-fold predictions of every image. The output goes to a
// new folder <experiment folder>/suspect_labels/<UTC time>/: suspects.csv, suspects.png (a contact
// sheet: each cell large, with its file name, patient, given label and the models' call) and, when
// the fold models are too weak for their disagreements to mean much, WARNING.txt (also printed).
// Nothing is relabelled.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "base/files.h"
#include "base/flags.h"
#include "base/main.h"
#include "data/dataset.h"
#include "data/image_io.h"
#include "evaluation/pictures.h"
#include "experiments/store/run_reader.h"
#include "tools/suspects.h"

namespace malaria::tools {
namespace {

absl::Status Run(const std::vector<std::string>& paths, int max_images) {
  // The latest completed run of each fold, per (experiment, k, data).
  std::map<int, experiments::LoadedRun> folds;
  int k = 0;
  std::string experiment, fingerprint;
  std::vector<std::string> found;
  for (const std::string& path : paths) {
    for (const std::string& dir : experiments::FindRuns(path)) found.push_back(dir);
  }
  std::sort(found.begin(), found.end());
  for (const std::string& dir : found) {
    absl::StatusOr<experiments::LoadedRun> run = experiments::LoadRun(dir);
    if (!run.ok() || run->info.status() != experiments::RunInfo::COMPLETED ||
        !run->config.data().split().has_patient_kfold()) {
      continue;
    }
    const auto& split = run->config.data().split().patient_kfold();
    if (k == 0) {
      k = split.folds();
      experiment = run->info.experiment();
      fingerprint = run->info.dataset().fingerprint();
    }
    if (split.folds() != k || run->info.experiment() != experiment ||
        run->info.dataset().fingerprint() != fingerprint) {
      return absl::InvalidArgumentError(
          absl::StrCat(dir, " is not a fold of the same k-fold run (experiment ", experiment,
                       ", k=", k, ", same data) as the others; pass one experiment's runs"));
    }
    folds[split.fold()] = *std::move(run);
  }
  if (k == 0) {
    return absl::NotFoundError(
        absl::StrCat("no COMPLETED patient_kfold runs at ", absl::StrJoin(paths, ", ")));
  }
  std::vector<std::string> missing;
  for (int f = 0; f < k; ++f) {
    if (!folds.count(f)) missing.push_back(absl::StrCat(f));
  }
  if (!missing.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "fold(s) ", absl::StrJoin(missing, ", "), " of ", k, " of ", experiment,
        " have no COMPLETED run; run them with --set data.split.patient_kfold.fold=N"));
  }

  const experiments::LoadedRun& first = folds.begin()->second;
  const std::vector<std::string> classes(first.info.dataset().classes().begin(),
                                         first.info.dataset().classes().end());
  std::vector<OofPrediction> oof;
  for (const auto& [fold, run] : folds) {
    absl::StatusOr<std::string> csv = base::ReadFile(run.dir.File("predictions.csv"));
    if (!csv.ok()) return csv.status();
    absl::StatusOr<std::vector<OofPrediction>> p = ParsePredictionsCsv(*csv, classes);
    if (!p.ok())
      return absl::InvalidArgumentError(absl::StrCat(run.dir.path(), ": ", p.status().message()));
    oof.insert(oof.end(), p->begin(), p->end());
  }
  std::vector<double> thresholds;
  const std::vector<Suspect> suspects = FindSuspects(oof, classes.size(), &thresholds);
  const std::string weak =
      WeakModelWarning(MeasureOof(oof, static_cast<int>(classes.size()), suspects.size()));

  const std::string experiment_folder =
      std::filesystem::path(first.dir.path()).parent_path().string();
  absl::StatusOr<experiments::RunDirectory> out =
      experiments::RunDirectory::Create(experiment_folder, "suspect_labels");
  if (!out.ok()) return out.status();
  std::string csv = "path,given_label,suggested_label,p_given,p_suggested,threshold_suggested\n";
  std::vector<cv::Mat> tiles;
  std::vector<std::vector<std::string>> captions;
  const std::string root = first.config.data().path();
  for (const Suspect& s : suspects) {
    absl::StrAppendFormat(&csv, "%s,%s,%s,%.6f,%.6f,%.6f\n", s.prediction.path,
                          classes[s.prediction.label], classes[s.suggested],
                          s.prediction.probabilities[s.prediction.label], s.confidence,
                          s.threshold);
    if (static_cast<int>(tiles.size()) < max_images) {
      absl::StatusOr<cv::Mat> image =
          data::DecodeImageFile(base::JoinPath(root, s.prediction.path));
      tiles.push_back(image.ok() ? *image : cv::Mat());
      const std::string file = std::filesystem::path(s.prediction.path).filename().string();
      const std::string patient = data::PatientFromFileName(file);
      captions.push_back({file, absl::StrCat("patient ", patient.empty() ? "unknown" : patient),
                          absl::StrCat("given: ", classes[s.prediction.label]),
                          absl::StrFormat("models: %s %.2f", classes[s.suggested], s.confidence)});
    }
  }
  if (absl::Status s = out->WriteFile("suspects.csv", csv); !s.ok()) return base::AfterWriting(s);
  evaluation::ContactSheetOptions sheet;
  sheet.title = absl::StrFormat(
      "Suspect labels of %s: %d of %d images (the %d most confident shown); nothing relabelled%s",
      experiment, suspects.size(), oof.size(), tiles.size(),
      weak.empty() ? "" : " - WEAK MODELS, see the warning");
  if (absl::Status s = data::WritePng(evaluation::ContactSheetImage(tiles, captions, sheet),
                                      out->File("suspects.png"));
      !s.ok()) {
    return base::AfterWriting(s);
  }
  if (!weak.empty()) {
    if (absl::Status s = out->WriteFile("WARNING.txt", weak + "\n"); !s.ok()) {
      return base::AfterWriting(s);
    }
  }
  std::vector<std::string> t;
  for (size_t c = 0; c < classes.size(); ++c) {
    t.push_back(absl::StrFormat("%s %.3f", classes[c], thresholds[c]));
  }
  absl::PrintF(
      "%d of %d images are suspect (out-of-fold predictions of %d folds of %s; "
      "self-confidence thresholds: %s)\nWritten to %s (suspects.csv, suspects.png). "
      "Nothing was relabelled.\n",
      suspects.size(), oof.size(), k, experiment, absl::StrJoin(t, ", "), out->path());
  if (!weak.empty()) absl::FPrintF(stderr, "WARNING: %s\n", weak);
  return absl::OkStatus();
}

absl::StatusOr<int> Main(int argc, char** argv) {
  std::vector<std::string> paths;
  int max_images = 48;
  base::FlagParser flags("suspect_labels RUNS_PATH... [--max_images N]",
                         "Lists the images whose labels the folds of a patient-level k-fold run\n"
                         "contradict with confidence, for a microscopist to review.");
  flags.Int("max_images", &max_images, "images on the contact sheet (default 48)");
  flags.PositionalPaths("RUNS_PATH", &paths);
  flags.Require({"RUNS_PATH"});
  absl::StatusOr<bool> go = flags.Parse(argc, argv);
  if (!go.ok()) return go.status();
  if (!*go) return base::kExitOk;
  if (max_images < 0) return absl::InvalidArgumentError("--max_images must be >= 0");
  if (absl::Status s = Run(paths, max_images); !s.ok()) return s;
  return base::kExitOk;
}

}  // namespace
}  // namespace malaria::tools

int main(int argc, char** argv) { return malaria::base::RunMain(argc, argv, malaria::tools::Main); }
