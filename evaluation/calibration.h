// Calibration of a trained model on its validation set, and what it gives per patient: temperature
// scaling (Guo et al., 2017), a decision threshold, each patient's fraction of infected cells
// (parasitemia) with a 95 % interval, and a diagnosis rule fitted on the validation patients.
// No LibTorch.
//
//   const double t = FitTemperature(valid);
//   const PredictionSet calibrated = WithTemperature(valid, t);
//   const double threshold = FitThreshold(calibrated, positive);
//   std::vector<ParasitemiaEstimate> e = EstimateParasitemia(calibrated, positive, sens, spec);
//   const double tau = FitPatientThreshold(e);   // estimated fraction that diagnoses a patient
#ifndef MALARIA_EVALUATION_CALIBRATION_H_
#define MALARIA_EVALUATION_CALIBRATION_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "evaluation/intervals.h"
#include "evaluation/patient_counts.h"
#include "evaluation/predictions.h"
#include "evaluation/report.pb.h"

namespace malaria::evaluation {

// NegativeLogLikelihood returns the mean of -log p(label) (probabilities clamped at 1e-12).
double NegativeLogLikelihood(const PredictionSet& predictions);

// WithTemperature returns the set with probabilities softmax(log p / temperature) (row by row:
// temperature > 1 softens, < 1 sharpens) and the losses recomputed.
PredictionSet WithTemperature(const PredictionSet& predictions, double temperature);

// FitTemperature returns the temperature in [0.05, 20] minimising NegativeLogLikelihood of
// WithTemperature (golden-section search on its logarithm). 1 for an empty set.
double FitTemperature(const PredictionSet& predictions);

// FitThreshold returns the threshold on the positive class's probability that maximises accuracy
// (of two classes), among equally accurate ones the nearest to 0.5.
double FitThreshold(const PredictionSet& predictions, int positive);

// One patient's fraction of infected cells, labelled and estimated.
// A patient's counts (CountByPatient) and the fraction of infected cells they estimate.
struct ParasitemiaEstimate : PatientCounts {
  double labelled = 0;       // the fraction of cells labelled positive
  double estimate = 0;       // the fraction corrected for the model's errors
  double low = 0, high = 0;  // its 95 % interval
  bool infected = false;     // any cell labelled positive
  bool diagnosed = false;    // estimate >= the diagnosis threshold
};

// EstimateParasitemia estimates each patient's (PredictionSet::groups) fraction of infected cells
// from the cells the model calls positive (predictions.Predicted), corrected for the model's
// `sensitivity` and `specificity` (Rogan-Gladen: (a + sp - 1) / (se + sp - 1), clamped to [0, 1];
// no correction when se + sp <= 1), with the Wilson 95 % interval of the called fraction a
// carried through the same correction. Patients are sorted by name; `diagnosed` uses
// `threshold` and at least `min_cells` cells called positive.
std::vector<ParasitemiaEstimate> EstimateParasitemia(const PredictionSet& predictions, int positive,
                                                     double sensitivity, double specificity,
                                                     double threshold = 0.5, int min_cells = 0);

// FitPatientThreshold returns the estimated fraction at which diagnosing maximises patient-level
// accuracy over `patients` (among equal ones the midpoint of the best range), 0.5 for none.
double FitPatientThreshold(const std::vector<ParasitemiaEstimate>& patients);

// A patient diagnosis rule: infected when the estimated fraction reaches `fraction` and at least
// `min_cells` cells are called positive.
struct PatientRule {
  double fraction = 0.5;
  int min_cells = 0;
};

// FitPatientRule returns the rule of highest patient accuracy over `patients`; among equally
// accurate ones the middle of the best range of cell floors, then the middle of the best range of
// fractions (the widest margin on both sides, which holds best on new patients). Cell floors from
// 0 to 20 are tried.
PatientRule FitPatientRule(const std::vector<ParasitemiaEstimate>& patients);

// Diagnose sets each patient's `diagnosed` by `rule`.
void Diagnose(const PatientRule& rule, std::vector<ParasitemiaEstimate>* patients);

// SummarizeParasitemia returns the error of the estimates, the interval's coverage and the
// diagnosis accuracy, sensitivity and specificity at `threshold`.
ParasitemiaSummary SummarizeParasitemia(const std::vector<ParasitemiaEstimate>& patients,
                                        double threshold);

// ParasitemiaCsv: patient,cells,labelled_positive_cells,labelled_fraction,
// predicted_positive_cells,estimated_fraction,low,high,infected,diagnosed rows.
std::string ParasitemiaCsv(const std::vector<ParasitemiaEstimate>& patients);

// ScreeningText says what one patient's cells (`e`, from EstimateParasitemia) mean, as `classify`
// prints it for a patient's folder: the cells called `positive_class`, the estimated fraction of
// infected cells with its 95 % interval and, with `rule` (the model's calibration: its
// patient_threshold and patient_min_cells, which `e.diagnosed` was decided by), the diagnosis and
// the rule; without one, the fraction as called and no diagnosis. One line, no newline.
std::string ScreeningText(const ParasitemiaEstimate& e, const std::string& positive_class,
                          const Calibration* rule);

// How much a calibration may fit. A threshold or a diagnosis rule fitted on the 16 validation
// patients of one run does not hold on new patients (docs/statistics.md); the temperature, one
// number fitted on thousands of cells, does.
struct CalibrationPolicy {
  // Fewer patients than this in the fitting set: the decision threshold stays 0.5 and the
  // diagnosis rule is the fixed one below.
  int min_patients = 50;
  // The fixed diagnosis rule (evaluation.patient_positive_fraction and patient_min_cells).
  double fixed_patient_fraction = 0.25;
  int fixed_patient_min_cells = 0;
  // The fitted threshold's test against 0.5: a paired bootstrap over patients of the accuracy
  // difference; the threshold replaces 0.5 only when the interval's low end is above 0.
  BootstrapOptions bootstrap;
};

// Calibrate fits a Calibration on `validation` (a run's validation set, or a k-fold job's pooled
// out-of-fold predictions): the temperature always; the decision threshold and the diagnosis rule
// as `policy` allows, each with a note saying what was kept and why; the sensitivity and
// specificity at the threshold kept.
Calibration Calibrate(const PredictionSet& validation, const std::vector<std::string>& classes,
                      int positive, const CalibrationPolicy& policy = CalibrationPolicy());

// AveragePredictions returns the ensemble of `members` (sets of the same examples in the same
// order, from different models): each row's probabilities averaged, losses recomputed, the
// decision by arg-max. InvalidArgument when the members disagree on the examples or classes.
absl::StatusOr<PredictionSet> AveragePredictions(const std::vector<PredictionSet>& members);

// CombineCalibrations returns the calibration an ensemble of calibrated members decides with: the
// members' thresholds, sensitivities, specificities and patient thresholds averaged (temperature
// 1: each member's probabilities were scaled before averaging).
Calibration CombineCalibrations(const std::vector<Calibration>& members);

// ApplyCalibration returns `predictions` with the calibration's temperature and decision
// threshold.
PredictionSet ApplyCalibration(const PredictionSet& predictions, const Calibration& calibration,
                               int positive);

}  // namespace malaria::evaluation

#endif  // MALARIA_EVALUATION_CALIBRATION_H_
