// The rules of evaluation_config.proto, beside it.
//
//   ValidateEvaluationConfig(config, problems.In("evaluation"));
#ifndef MALARIA_EVALUATION_EVALUATION_CONFIG_H_
#define MALARIA_EVALUATION_EVALUATION_CONFIG_H_

#include "base/problems.h"
#include "evaluation/evaluation_config.pb.h"

namespace malaria::evaluation {

// FillEvaluationDefaults writes out the default accuracy thresholds (0.90, 0.93, 0.95, 0.96).
void FillEvaluationDefaults(EvaluationConfig* config);

// ValidateEvaluationConfig adds to `problems` every rule `config` breaks: a positive class must be
// named (the dataset decides later whether it exists), top_losses >= 0, calibration_bins >= 1 and
// patient_positive_fraction in (0, 1], accuracy thresholds in (0, 1].
void ValidateEvaluationConfig(const EvaluationConfig& config, const base::ConfigProblems& problems);

}  // namespace malaria::evaluation

#endif  // MALARIA_EVALUATION_EVALUATION_CONFIG_H_
