#include "tools/model_flags.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <thread>
#include <utility>

namespace malaria::tools {

void ModelFlags::Register(base::FlagParser& flags, const std::string& run_help) {
  flags.Paths("run", &runs, run_help);
  flags.String("checkpoint", &checkpoint,
               "best or last epoch (default: the run's final model, evaluation.final_model)");
  flags.String("stage", &stage, "another stage's model than the final one");
  flags.Int("tta", &tta, evaluation::kTtaFlagHelp);
  flags.Int("tta_shift", &tta_shift, evaluation::kTtaShiftFlagHelp);
  flags.Bool("calibration", &calibrate,
             "use the run's calibration (temperature, threshold, patient rule) when it has one "
             "for this checkpoint (default true)");
}

absl::StatusOr<LoadedModel> LoadModel(const ModelFlags& flags, std::FILE* out, const char* label) {
  at::set_num_threads(std::max(1u, std::thread::hardware_concurrency()));
  absl::StatusOr<experiments::Ensemble> ensemble =
      experiments::LoadEnsemble(flags.runs, flags.checkpoint, flags.stage);
  if (!ensemble.ok()) return ensemble.status();
  // The views the model was evaluated and calibrated with, unless the flags name others.
  absl::StatusOr<evaluation::Tta> tta =
      evaluation::TtaFromFlags(flags.tta, flags.tta_shift, ensemble->runs[0].config.evaluation());
  if (!tta.ok()) return tta.status();
  experiments::PrintModels(*ensemble, flags.calibrate, out, label);
  std::optional<evaluation::Calibration> calibration;
  absl::StatusOr<inference::Predictor> predictor =
      experiments::BuildPredictor(*ensemble, *tta, flags.calibrate, &calibration);
  if (!predictor.ok()) return predictor.status();
  return LoadedModel{*std::move(ensemble), *tta, *std::move(predictor), std::move(calibration)};
}

}  // namespace malaria::tools
