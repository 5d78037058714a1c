#include "evaluation/evaluation_config.h"

namespace malaria::evaluation {

void ValidateEvaluationConfig(const EvaluationConfig& e, const base::ConfigProblems& p) {
  if (e.positive_class().empty()) p.Add("positive_class", "must name one of the dataset's classes");
  p.Require(e.top_losses() >= 0, "top_losses", "must be >= 0", e.top_losses());
  p.Require(e.calibration_bins() >= 1, "calibration_bins", "must be >= 1", e.calibration_bins());
  p.Require(e.patient_positive_fraction() > 0 && e.patient_positive_fraction() <= 1,
            "patient_positive_fraction", "must be in (0, 1]", e.patient_positive_fraction());
}

}  // namespace malaria::evaluation
