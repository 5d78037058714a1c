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
#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <thread>
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

namespace malaria {
namespace {

absl::StatusOr<int> Classify(int argc, char** argv) {
  std::vector<std::string> run_dirs;
  std::string which, stage;
  int tta = evaluation::kTtaOwn, tta_shift = evaluation::kTtaOwn;
  bool calibrate = true;
  std::vector<std::string> images;
  base::FlagParser flags(
      "classify --run RUN_DIR [--run RUN_DIR]... [--checkpoint best|last] [--stage NAME] "
      "[--tta 0-3] [--tta_shift 0-8] [--calibration=false] IMAGE...",
      "Classifies cell images with a trained run's model (several --run, or a folder of runs:\n"
      "their ensemble): one line per image.");
  flags.Strings("run", &run_dirs, "a run whose model classifies, or a folder of runs");
  flags.String("checkpoint", &which,
               "best or last epoch (default: the run's final model, evaluation.final_model)");
  flags.String("stage", &stage, "another stage's model than the final one");
  flags.Int("tta", &tta, evaluation::kTtaFlagHelp);
  flags.Int("tta_shift", &tta_shift, evaluation::kTtaShiftFlagHelp);
  flags.Bool("calibration", &calibrate,
             "use the run's calibration (temperature and threshold) when it has one for this "
             "checkpoint (default true)");
  flags.Positional("IMAGE", &images);
  absl::StatusOr<bool> go = flags.Parse(argc, argv);
  if (!go.ok()) return go.status();
  if (!*go) return base::kExitOk;
  if (run_dirs.empty() || images.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--run and at least one image are required\n", flags.Usage()));
  }
  at::set_num_threads(std::max(1u, std::thread::hardware_concurrency()));
  for (std::string& r : run_dirs) r = base::ResolveUserPath(r);
  absl::StatusOr<experiments::Ensemble> ensemble =
      experiments::LoadEnsemble(run_dirs, which, stage);
  if (!ensemble.ok()) return ensemble.status();
  // The views the model was evaluated and calibrated with, unless the flags name others.
  const absl::StatusOr<evaluation::Tta> tta_setting =
      evaluation::TtaFromFlags(tta, tta_shift, ensemble->runs[0].config.evaluation());
  if (!tta_setting.ok()) return tta_setting.status();
  const experiments::LoadedRun* run = &ensemble->runs[0];
  const experiments::TrainedModel* trained = &ensemble->models[0];
  experiments::PrintModels(*ensemble, calibrate, stderr);
  // The images as an unlabelled dataset (labels are placeholders and unused).
  data::Dataset dataset;
  dataset.root = "/";
  dataset.classes = trained->classes;
  for (const std::string& path : images) {
    dataset.examples.push_back({base::ResolveUserPath(path), 0, ""});
  }
  std::vector<data::BadImage> bad;
  auto source = std::make_shared<data::ImageSource>(
      data::ImageSource::Load(dataset, run->config.data().image_size(), 0, int64_t{1} << 30, &bad));
  for (const data::BadImage& b : bad) absl::FPrintF(stderr, "ERROR: %s\n", b.error);
  if (!source->dataset().examples.empty()) {
    std::optional<evaluation::Calibration> calibration;
    absl::StatusOr<evaluation::PredictionSet> predictions =
        experiments::PredictEnsemble(*ensemble, source, *tta_setting, calibrate, &calibration);
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
