// Classifies cell images with a trained run's model: what a lab would use.
//
//   bazel run //tools:classify -- --run runs/resnet34_two_stage/20261125-225154 cell1.png cell2.png
//
// Prints one line per image: the path, the predicted class and the probability of the positive
// class (evaluation.positive_class, Parasitized):
//   cell1.png	Parasitized	P(Parasitized)=0.9731
// Unreadable images (folders and other non-files too) are reported by name and skipped, the
// others still classified; the exit status is then 1.
// The model is the run's own final model (evaluation.final_model) with its calibration unless
// --checkpoint best|last or --stage NAME picks another; which checkpoint and which calibration
// were used goes to stderr. --tta 0-3: flip averaging (3: all eight flips and rotations).
#include <algorithm>
#include <cstdio>
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
      "[--tta 0-3] [--tta_shift 0-8] [--calibration=false] IMAGE...",
      "Classifies cell images with a trained run's model (several --run, or a folder of runs:\n"
      "their ensemble): one line per image.");
  model_flags.Register(flags, "a run whose model classifies, or a folder of runs");
  flags.PositionalPaths("IMAGE", &images);
  flags.Require({"run", "IMAGE"});
  absl::StatusOr<bool> go = flags.Parse(argc, argv);
  if (!go.ok()) return go.status();
  if (!*go) return base::kExitOk;
  absl::StatusOr<tools::LoadedModel> model = tools::LoadModel(model_flags, stderr);
  if (!model.ok()) return model.status();
  const experiments::LoadedRun* run = &model->first_run();
  const experiments::TrainedModel* trained = &model->first();
  // The images as an unlabelled dataset (labels are placeholders and unused).
  data::Dataset dataset;
  dataset.root = "/";
  dataset.classes = trained->classes;
  for (const std::string& path : images) dataset.examples.push_back({path, 0, ""});
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
  }
  return bad.empty() ? base::kExitOk : base::kExitFailed;
}

}  // namespace
}  // namespace malaria

int main(int argc, char** argv) { return malaria::base::RunMain(argc, argv, malaria::Classify); }
