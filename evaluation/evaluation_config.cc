#include "evaluation/evaluation_config.h"

#include "absl/strings/str_cat.h"
#include "evaluation/tta_setting.h"

namespace malaria::evaluation {

void FillEvaluationDefaults(EvaluationConfig* config) {
  if (config->accuracy_thresholds_size() > 0) return;
  for (double t : {0.90, 0.93, 0.95, 0.96}) config->add_accuracy_thresholds(t);
}

void ValidateEvaluationConfig(const EvaluationConfig& e, const base::ConfigProblems& p) {
  for (int i = 0; i < e.accuracy_thresholds_size(); ++i) {
    p.Require(e.accuracy_thresholds(i) > 0 && e.accuracy_thresholds(i) <= 1,
              absl::StrCat("accuracy_thresholds[", i, "]"), "must be in (0, 1]",
              e.accuracy_thresholds(i));
  }
  if (e.positive_class().empty()) p.Add("positive_class", "must name one of the dataset's classes");
  p.Require(e.top_losses() >= 0, "top_losses", "must be >= 0", e.top_losses());
  p.Require(e.calibration_bins() >= 1, "calibration_bins", "must be >= 1", e.calibration_bins());
  p.Require(e.tta_shift_px() >= 0 && e.tta_shift_px() <= kMaxTtaShift, "tta_shift_px",
            absl::StrCat("must be in [0, ", kMaxTtaShift, "]"), e.tta_shift_px());
  p.Require(e.patient_positive_fraction() > 0 && e.patient_positive_fraction() <= 1,
            "patient_positive_fraction", "must be in (0, 1]", e.patient_positive_fraction());
  p.Require(e.patient_min_cells() >= 0 && e.patient_min_cells() <= 1000, "patient_min_cells",
            "must be in [0, 1000]", e.patient_min_cells());
  p.Require(e.bootstrap_replicates() >= 0 && e.bootstrap_replicates() <= 100000,
            "bootstrap_replicates", "must be in [0, 100000] (0: no intervals)",
            e.bootstrap_replicates());
}

}  // namespace malaria::evaluation
