#include "evaluation/calibration.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "evaluation/metrics.h"

namespace malaria::evaluation {

double NegativeLogLikelihood(const PredictionSet& p) {
  if (p.size() == 0) return 0;
  double sum = 0;
  for (int i = 0; i < p.size(); ++i) {
    sum -= std::log(std::max(1e-12, static_cast<double>(p.Row(i)[p.labels[i]])));
  }
  return sum / p.size();
}

PredictionSet WithTemperature(const PredictionSet& p, double temperature) {
  PredictionSet out = p;
  double loss_sum = 0;
  for (int i = 0; i < p.size(); ++i) {
    const float* row = p.Row(i);
    std::vector<double> z(p.num_classes);
    double top = -1e300;
    for (int k = 0; k < p.num_classes; ++k) {
      z[k] = std::log(std::max(1e-12, static_cast<double>(row[k]))) / temperature;
      top = std::max(top, z[k]);
    }
    double total = 0;
    for (double& v : z) total += (v = std::exp(v - top));
    float* target = out.probabilities.data() + static_cast<size_t>(i) * p.num_classes;
    for (int k = 0; k < p.num_classes; ++k) target[k] = static_cast<float>(z[k] / total);
    if (i < static_cast<int>(out.losses.size())) {
      out.losses[i] = static_cast<float>(-std::log(std::max(1e-12, z[p.labels[i]] / total)));
      loss_sum += out.losses[i];
    }
  }
  if (!out.losses.empty()) out.mean_loss = loss_sum / out.losses.size();
  return out;
}

double FitTemperature(const PredictionSet& p) {
  if (p.size() == 0) return 1;
  auto nll = [&](double log_t) {
    return NegativeLogLikelihood(WithTemperature(p, std::exp(log_t)));
  };
  double lo = std::log(0.05), hi = std::log(20.0);
  const double g = (std::sqrt(5.0) - 1) / 2;
  double a = hi - g * (hi - lo), b = lo + g * (hi - lo);
  double fa = nll(a), fb = nll(b);
  for (int i = 0; i < 60; ++i) {
    if (fa < fb) {
      hi = b;
      b = a;
      fb = fa;
      a = hi - g * (hi - lo);
      fa = nll(a);
    } else {
      lo = a;
      a = b;
      fa = fb;
      b = lo + g * (hi - lo);
      fb = nll(b);
    }
  }
  return std::exp((lo + hi) / 2);
}

double FitThreshold(const PredictionSet& p, int positive) {
  if (p.size() == 0 || p.num_classes != 2) return 0.5;
  // Sorted by the positive probability: thresholds between neighbours are all that can differ.
  std::vector<std::pair<double, bool>> scores;
  int positives = 0;
  for (int i = 0; i < p.size(); ++i) {
    const bool is_positive = p.labels[i] == positive;
    scores.push_back({p.Row(i)[positive], is_positive});
    positives += is_positive;
  }
  std::sort(scores.begin(), scores.end());
  // Threshold below scores[0]: every cell positive; right = positives.
  int right = positives, best_right = right;
  double best = scores[0].first, best_distance = std::abs(best - 0.5);
  for (size_t i = 0; i < scores.size(); ++i) {
    // Moving the threshold above scores[i] calls that cell negative.
    right += scores[i].second ? -1 : 1;
    if (i + 1 < scores.size() && scores[i + 1].first == scores[i].first) continue;
    const double t = i + 1 < scores.size() ? (scores[i].first + scores[i + 1].first) / 2
                                           : std::nextafter(scores[i].first, 2.0);
    const double distance = std::abs(t - 0.5);
    if (right > best_right || (right == best_right && distance < best_distance)) {
      best_right = right;
      best = t;
      best_distance = distance;
    }
  }
  return best;
}

absl::StatusOr<PredictionSet> AveragePredictions(const std::vector<PredictionSet>& members) {
  if (members.empty()) return absl::InvalidArgumentError("an ensemble needs at least one model");
  PredictionSet out = members[0];
  out.decision_positive = -1;
  for (size_t m = 1; m < members.size(); ++m) {
    const PredictionSet& p = members[m];
    if (p.num_classes != out.num_classes || p.labels != out.labels || p.paths != out.paths) {
      return absl::InvalidArgumentError(absl::StrCat(
          "ensemble member ", m + 1, " predicted other examples or classes than member 1"));
    }
    for (size_t k = 0; k < out.probabilities.size(); ++k) {
      out.probabilities[k] += p.probabilities[k];
    }
  }
  double loss_sum = 0;
  out.losses.assign(out.labels.size(), 0);
  for (float& v : out.probabilities) v /= static_cast<float>(members.size());
  for (int i = 0; i < out.size(); ++i) {
    out.losses[i] = static_cast<float>(
        -std::log(std::max(1e-12, static_cast<double>(out.Row(i)[out.labels[i]]))));
    loss_sum += out.losses[i];
  }
  out.mean_loss = out.size() > 0 ? loss_sum / out.size() : 0;
  return out;
}

Calibration CombineCalibrations(const std::vector<Calibration>& members) {
  Calibration c;
  if (members.empty()) return c;
  c.set_positive_class(members[0].positive_class());
  c.set_temperature(1);
  double threshold = 0, sensitivity = 0, specificity = 0, patient = 0;
  for (const Calibration& m : members) {
    threshold += m.threshold();
    sensitivity += m.sensitivity();
    specificity += m.specificity();
    patient += m.patient_threshold();
  }
  const double n = static_cast<double>(members.size());
  c.set_threshold(threshold / n);
  c.set_sensitivity(sensitivity / n);
  c.set_specificity(specificity / n);
  c.set_patient_threshold(patient / n);
  int min_cells = 0;
  for (const Calibration& m : members) min_cells = std::max(min_cells, m.patient_min_cells());
  c.set_patient_min_cells(min_cells);
  return c;
}

PredictionSet ApplyCalibration(const PredictionSet& p, const Calibration& c, int positive) {
  PredictionSet out = WithTemperature(p, c.temperature() > 0 ? c.temperature() : 1.0);
  if (out.num_classes == 2) {
    out.decision_positive = positive;
    out.decision_threshold = c.threshold();
  }
  return out;
}

Calibration Calibrate(const PredictionSet& validation, const std::vector<std::string>& classes,
                      int positive, const CalibrationPolicy& policy) {
  Calibration c;
  c.set_positive_class(classes[positive]);
  c.set_nll_before(NegativeLogLikelihood(validation));
  c.set_ece_before(ExpectedCalibrationError(validation, 15));
  PredictionSet argmax = validation;
  argmax.decision_positive = -1;
  int right = 0;
  for (int i = 0; i < argmax.size(); ++i) right += argmax.Predicted(i) == argmax.labels[i];
  c.set_accuracy_before(argmax.size() > 0 ? static_cast<double>(right) / argmax.size() : 0);
  c.set_temperature(FitTemperature(validation));
  PredictionSet calibrated = WithTemperature(validation, c.temperature());

  std::set<std::string> patients;
  for (const std::string& g : validation.groups) {
    if (!g.empty()) patients.insert(g);
  }
  const int n = static_cast<int>(patients.size());
  c.set_fitted_patients(n);
  const bool enough = n >= policy.min_patients;

  // The threshold: the most accurate one replaces 0.5 only on enough patients, and only where it
  // beats 0.5 by more than the patients' resampling noise.
  const double candidate = FitThreshold(calibrated, positive);
  c.set_threshold_candidate(candidate);
  c.set_threshold(0.5);
  c.set_threshold_fitted(false);
  if (calibrated.num_classes != 2) {
    c.set_threshold_note("more than two classes: the arg-max decides");
  } else if (!enough) {
    c.set_threshold_note(absl::StrFormat(
        "0.5 kept: fitted on %d patients, fewer than the %d a fitted threshold needs (the most "
        "accurate here was %.3f)",
        n, policy.min_patients, candidate));
  } else {
    PredictionSet at_candidate = calibrated, at_half = calibrated;
    at_candidate.decision_positive = at_half.decision_positive = positive;
    at_candidate.decision_threshold = candidate;
    at_half.decision_threshold = 0.5;
    const absl::StatusOr<MetricIntervals> gain =
        PairedDifference(at_candidate, at_half, positive, policy.bootstrap);
    const Interval g = gain.ok() ? gain->accuracy : Interval();
    if (g.known() && g.low > 0) {
      c.set_threshold(candidate);
      c.set_threshold_fitted(true);
      c.set_threshold_note(absl::StrFormat(
          "%.3f: %+.2f points of accuracy over 0.5 on %d patients (95 %% CI %+.2f to %+.2f)",
          candidate, 100 * g.estimate, n, 100 * g.low, 100 * g.high));
    } else {
      c.set_threshold_note(absl::StrFormat(
          "0.5 kept: %.3f was %+.2f points over it on %d patients, within its resampling noise "
          "(95 %% CI %+.2f to %+.2f)",
          candidate, 100 * g.estimate, n, 100 * g.low, 100 * g.high));
    }
  }
  calibrated = ApplyCalibration(validation, c, positive);
  c.set_nll_after(NegativeLogLikelihood(calibrated));
  c.set_ece_after(ExpectedCalibrationError(calibrated, 15));
  const ClassificationReport report =
      Evaluate(calibrated.probabilities, calibrated.labels, classes, positive, calibrated.mean_loss,
               calibrated.num_classes == 2 ? c.threshold() : -1.0);
  c.set_accuracy_after(report.accuracy());
  c.set_sensitivity(report.sensitivity());
  c.set_specificity(report.specificity());

  // The diagnosis rule: fitted (fraction and cell floor) on enough patients, else the fixed one.
  const std::vector<ParasitemiaEstimate> estimates =
      EstimateParasitemia(calibrated, positive, c.sensitivity(), c.specificity());
  if (enough && !estimates.empty()) {
    const PatientRule rule = FitPatientRule(estimates);
    c.set_patient_threshold(rule.fraction);
    c.set_patient_min_cells(rule.min_cells);
    c.set_patient_rule_fitted(true);
    c.set_patient_rule_note(absl::StrFormat(
        "fitted on %d patients: estimated fraction >= %.4f and >= %d cells called positive", n,
        rule.fraction, rule.min_cells));
  } else {
    c.set_patient_threshold(policy.fixed_patient_fraction);
    c.set_patient_min_cells(policy.fixed_patient_min_cells);
    c.set_patient_rule_fitted(false);
    c.set_patient_rule_note(absl::StrFormat(
        "fixed: estimated fraction >= %.4f and >= %d cells called positive (%d patients are fewer "
        "than the %d a fitted rule needs)",
        policy.fixed_patient_fraction, policy.fixed_patient_min_cells, n, policy.min_patients));
  }
  return c;
}

}  // namespace malaria::evaluation
