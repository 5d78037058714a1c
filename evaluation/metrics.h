// Classification metrics from predicted probabilities, without LibTorch.
//
//   ClassificationReport r = Evaluate(probabilities, labels, classes, /*positive=*/0, loss);
//   r.accuracy(), r.sensitivity(), r.false_negatives(), r.confusion() ...
//   std::string csv = ConfusionMatrixCsv(r);
#ifndef MALARIA_EVALUATION_METRICS_H_
#define MALARIA_EVALUATION_METRICS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "evaluation/evaluation_config.pb.h"
#include "evaluation/patient_counts.h"
#include "evaluation/predictions.h"
#include "evaluation/report.pb.h"

namespace malaria::evaluation {

// Evaluate computes every metric of ClassificationReport. `probabilities` is N x classes.size(),
// row-major; `labels` has N entries in [0, classes.size()); `positive` indexes the positive class.
// Predictions are the arg-max class. Rates whose denominator is zero are 0; ROC AUC is 0.5 when
// only one class is present.
// With `threshold` >= 0 (two classes only), the positive class is predicted when its
// probability reaches it, instead of the arg-max.
ClassificationReport Evaluate(const std::vector<float>& probabilities,
                              const std::vector<int64_t>& labels,
                              const std::vector<std::string>& classes, int positive,
                              double mean_loss, double threshold = -1);

// Evaluate of a PredictionSet adds what needs more than probabilities and labels: the expected
// calibration error (config.calibration_bins()) and, when the set has groups, the patient summary
// (diagnosis threshold config.patient_positive_fraction()). Classes are decided as
// predictions.Predicted decides them.
ClassificationReport Evaluate(const PredictionSet& predictions,
                              const std::vector<std::string>& classes, int positive,
                              const EvaluationConfig& config);

// ExpectedCalibrationError bins the examples by confidence (arg-max probability) into `bins`
// equal-width bins over [0, 1] and returns sum_b |accuracy_b - confidence_b| * n_b / N.
double ExpectedCalibrationError(const PredictionSet& predictions, int bins);

// One patient's results.
// A patient's counts (CountByPatient) and what they say at a diagnosis threshold.
struct PatientResult : PatientCounts {
  double accuracy = 0;     // of its cells
  bool infected = false;   // any cell labelled positive
  bool diagnosed = false;  // predicted positive fraction >= threshold, and >= min_cells cells
};

// PerPatient groups the examples by PredictionSet::groups (sorted by patient): diagnosed when the
// fraction of cells decided positive is >= `threshold`, with at least `min_cells` of them.
std::vector<PatientResult> PerPatient(const PredictionSet& predictions, int positive,
                                      double threshold, int min_cells = 0);

// PatientCsv returns patient,cells,positive_cells,predicted_positive_cells,accuracy,infected,
// diagnosed rows.
std::string PatientCsv(const std::vector<PatientResult>& patients);

// MostConfused lists the off-diagonal cells of the confusion matrix with at least `min_count`
// examples, largest first, as "actual -> predicted: count" lines (fastai's most_confused).
std::string MostConfused(const ClassificationReport& report, int min_count = 1);

// TopLosses returns the indices of the k examples with the largest loss, largest first.
std::vector<int> TopLosses(const PredictionSet& predictions, int k);

// RocCurve returns the ROC curve's points (false positive rate, true positive rate) of the
// positive-class probability, from (0, 0) to (1, 1).
void RocCurve(const PredictionSet& predictions, int positive, std::vector<double>* fpr,
              std::vector<double>* tpr);

// PredictionsCsv returns one row per example: path,label,predicted,p_<class>...,loss.
std::string PredictionsCsv(const PredictionSet& predictions,
                           const std::vector<std::string>& classes);

// ReadPredictionsCsv reads what PredictionsCsv wrote back into a PredictionSet (probabilities,
// labels, losses, paths; `group_of(path)` gives each example's patient). `source` names the file
// in errors; InvalidArgument for a header without these classes' columns, a label not among
// `classes`, or a row that does not parse.
absl::StatusOr<PredictionSet> ReadPredictionsCsv(
    const std::string& csv, const std::string& source, const std::vector<std::string>& classes,
    const std::function<std::string(const std::string&)>& group_of);

// RocAuc returns the area under the ROC curve of `scores` for the examples where `positive` is
// true (the Mann-Whitney statistic, ties counted half).
double RocAuc(const std::vector<double>& scores, const std::vector<bool>& positive);

// ConfusionMatrixCsv returns the confusion matrix as CSV: a header "actual\predicted,<classes>",
// then one row per actual class.
std::string ConfusionMatrixCsv(const ClassificationReport& report);

// RateText formats a rate for people: with `digits` decimals ("0.953"), or, when there is no
// such rate (`known` false: no uninfected patients for a specificity, say), "- (<why>)".
std::string RateText(bool known, double rate, int digits, const std::string& why);

}  // namespace malaria::evaluation

#endif  // MALARIA_EVALUATION_METRICS_H_
