// What evaluate and classify share: the flags that pick a trained model (a run, several runs, a
// folder of runs or a k-fold model) and how it predicts, and their loading into a predictor.
//
//   ModelFlags model;
//   model.Register(flags, "a run whose model classifies, or a folder of runs");
//   ... flags.Parse(argc, argv) ...
//   absl::StatusOr<LoadedModel> m = LoadModel(model, stderr);  // prints which models, views
//   absl::StatusOr<evaluation::PredictionSet> p = m->predictor.Predict(source);
#ifndef MALARIA_TOOLS_MODEL_FLAGS_H_
#define MALARIA_TOOLS_MODEL_FLAGS_H_

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "base/flags.h"
#include "evaluation/report.pb.h"
#include "evaluation/tta_setting.h"
#include "experiments/trained_model.h"
#include "inference/predictor.h"

namespace malaria::tools {

struct ModelFlags {
  std::vector<std::string> runs;  // resolved against the user's folder
  std::string checkpoint, stage;
  int tta = evaluation::kTtaOwn, tta_shift = evaluation::kTtaOwn;
  bool calibrate = true;

  // Register adds --run (required; `run_help`), --checkpoint, --stage, --tta, --tta_shift and
  // --calibration to `flags`.
  void Register(base::FlagParser& flags, const std::string& run_help);
};

// A model as the flags picked it: its runs and checkpoints, the views it averages (--tta and
// --tta_shift, else its own evaluation.tta_flips and tta_shift_px), and its predictor with the
// calibration used (nullopt: --calibration=false, or a member without one for its checkpoint).
struct LoadedModel {
  experiments::Ensemble ensemble;
  evaluation::Tta tta;
  inference::Predictor predictor;
  std::optional<evaluation::Calibration> calibration;

  const experiments::TrainedModel& first() const { return ensemble.models[0]; }
  const experiments::LoadedRun& first_run() const { return ensemble.runs[0]; }
};

// LoadModel sets LibTorch's threads to every core, loads `flags`' model
// (experiments::LoadEnsemble), settles its views and builds its predictor
// (experiments::BuildPredictor), printing which models and calibration to `out`
// (experiments::PrintModels, lines starting with `label`). Errors name the run, file or flag.
absl::StatusOr<LoadedModel> LoadModel(const ModelFlags& flags, std::FILE* out,
                                      const char* label = "Model");

}  // namespace malaria::tools

#endif  // MALARIA_TOOLS_MODEL_FLAGS_H_
