// Classifies cell images with a trained run's model: what a lab would use.
//
//   bazel run //tools:classify -- --run runs/resnet34_two_stage/20261125-225154 cell1.png cell2.png
//
//   bazel run //tools:classify -- --run runs/out_of_fold/nih50_speedrun_kfold /data/patient_17/
//
// Prints one line per image: the path, the predicted class and the probability of the positive
// class (evaluation.positive_class, Parasitized):
//   cell1.png	Parasitized	P(Parasitized)=0.9731
// A folder is one patient's cells (its images at any depth): each gets its line, and stderr gets
// the patient's estimated parasitemia with its 95 % interval and the diagnosis by the model's
// calibrated rule (evaluation::ScreeningText):
//   Patient /data/patient_17/: 412 cells, 31 called Parasitized; estimated parasitemia 6.9 % ...
// Unreadable images and folders without images are reported by name and skipped, the others still
// classified; the exit status is then 1.
// The model is the run's own final model (evaluation.final_model) with its calibration unless
// --checkpoint best|last or --stage NAME picks another; which checkpoint and which calibration
// were used goes to stderr. --tta 0-3: flip averaging (3: all eight flips and rotations).
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/files.h"
#include "base/flags.h"
#include "base/main.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "evaluation/calibration.h"
#include "evaluation/tta_setting.h"
#include "experiments/store/run_reader.h"
#include "experiments/trained_model.h"
#include "tools/model_flags.h"

namespace malaria {
namespace {

absl::StatusOr<int> Classify(int argc, char** argv) {
  tools::ModelFlags model_flags;
  std::vector<std::string> images;
  base::FlagParser flags(
      "classify --run RUN_DIR [--run RUN_DIR]... [--checkpoint best|last] [--stage NAME] "
      "[--tta 0-3] [--tta_shift 0-8] [--calibration=false] IMAGE|PATIENT_FOLDER...",
      "Classifies cell images with a trained run's model (several --run, or a folder of runs:\n"
      "their ensemble): one line per image. A folder is one patient's cells: on stderr, its\n"
      "estimated parasitemia and the diagnosis by the model's rule.");
  model_flags.Register(flags, "a run whose model classifies, or a folder of runs");
  flags.PositionalPaths("IMAGE|PATIENT_FOLDER", &images);
  flags.Require({"run", "IMAGE|PATIENT_FOLDER"});
  absl::StatusOr<bool> go = flags.Parse(argc, argv);
  if (!go.ok()) return go.status();
  if (!*go) return base::kExitOk;
  absl::StatusOr<tools::LoadedModel> model = tools::LoadModel(model_flags, stderr);
  if (!model.ok()) return model.status();
  const experiments::LoadedRun* run = &model->first_run();
  const experiments::TrainedModel* trained = &model->first();
  // The images as an unlabelled dataset (labels are placeholders and unused); a folder's images
  // are one patient's, grouped under the folder as given.
  data::Dataset dataset;
  dataset.root = "/";
  dataset.classes = trained->classes;
  int bad_folders = 0;
  for (const std::string& path : images) {
    if (!std::filesystem::is_directory(path)) {
      dataset.examples.push_back({path, 0, ""});
      continue;
    }
    absl::StatusOr<std::vector<std::string>> cells = data::ListImages(path);
    if (!cells.ok()) {
      absl::FPrintF(stderr, "ERROR: %s\n", cells.status().message());
      ++bad_folders;
      continue;
    }
    for (const std::string& cell : *cells) dataset.examples.push_back({cell, 0, path});
  }
  std::vector<data::BadImage> bad;
  auto source = std::make_shared<data::ImageSource>(
      data::ImageSource::Load(dataset, run->config.data().image_size(), 0, int64_t{1} << 30, &bad));
  for (const data::BadImage& b : bad) absl::FPrintF(stderr, "ERROR: %s\n", b.error);
  if (!source->dataset().examples.empty()) {
    absl::StatusOr<evaluation::PredictionSet> predictions = model->predictor.Predict(source);
    if (!predictions.ok()) return predictions.status();
    const std::string& positive = trained->classes[trained->positive];
    for (int i = 0; i < predictions->size(); ++i) {
      absl::PrintF("%s\t%s\tP(%s)=%.4f\n", source->dataset().examples[i].path,
                   trained->classes[predictions->Predicted(i)], positive,
                   predictions->Row(i)[trained->positive]);
    }
    // Each patient folder: its cells' calls corrected for the model's errors, and the diagnosis by
    // its rule (sensitivity and specificity 1, no rule: the fraction as called).
    const evaluation::Calibration* rule = model->calibration ? &*model->calibration : nullptr;
    const std::vector<evaluation::ParasitemiaEstimate> patients = evaluation::EstimateParasitemia(
        *predictions, trained->positive, rule ? rule->sensitivity() : 1,
        rule ? rule->specificity() : 1, rule ? rule->patient_threshold() : 0.5,
        rule ? rule->patient_min_cells() : 0);
    for (const evaluation::ParasitemiaEstimate& e : patients) {
      absl::FPrintF(stderr, "Patient %s: %s\n", e.patient,
                    evaluation::ScreeningText(e, positive, rule));
    }
  }
  return bad.empty() && bad_folders == 0 ? base::kExitOk : base::kExitFailed;
}

}  // namespace
}  // namespace malaria

int main(int argc, char** argv) { return malaria::base::RunMain(argc, argv, malaria::Classify); }
