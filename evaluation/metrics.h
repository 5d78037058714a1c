// Classification metrics from predicted probabilities, without LibTorch.
//
//   ClassificationReport r = Evaluate(probabilities, labels, classes, /*positive=*/0, loss);
//   r.accuracy(), r.sensitivity(), r.false_negatives(), r.confusion() ...
//   std::string csv = ConfusionMatrixCsv(r);
#ifndef MALARIA_EVALUATION_METRICS_H_
#define MALARIA_EVALUATION_METRICS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "evaluation/report.pb.h"

namespace malaria::evaluation {

// Evaluate computes every metric of ClassificationReport. `probabilities` is N x classes.size(),
// row-major; `labels` has N entries in [0, classes.size()); `positive` indexes the positive class.
// Predictions are the arg-max class. Rates whose denominator is zero are 0; ROC AUC is 0.5 when
// only one class is present.
ClassificationReport Evaluate(const std::vector<float>& probabilities,
                              const std::vector<int64_t>& labels,
                              const std::vector<std::string>& classes, int positive,
                              double mean_loss);

// RocAuc returns the area under the ROC curve of `scores` for the examples where `positive` is
// true (the Mann-Whitney statistic, ties counted half).
double RocAuc(const std::vector<double>& scores, const std::vector<bool>& positive);

// ConfusionMatrixCsv returns the confusion matrix as CSV: a header "actual\predicted,<classes>",
// then one row per actual class.
std::string ConfusionMatrixCsv(const ClassificationReport& report);

}  // namespace malaria::evaluation

#endif  // MALARIA_EVALUATION_METRICS_H_
