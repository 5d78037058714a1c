// Each patient's fraction of infected cells estimated from a model's calls, and the diagnosis rule
// fitted on patients (evaluation/calibration.h).
#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "evaluation/calibration.h"
#include "evaluation/metrics.h"
#include "evaluation/patient_counts.h"

namespace malaria::evaluation {

namespace {

// The Wilson score interval of k successes in n at z.
std::pair<double, double> Wilson(int k, int n, double z) {
  if (n == 0) return {0, 1};
  const double phat = static_cast<double>(k) / n, z2 = z * z;
  const double centre = (phat + z2 / (2 * n)) / (1 + z2 / n);
  const double half = z / (1 + z2 / n) * std::sqrt(phat * (1 - phat) / n + z2 / (4.0 * n * n));
  return {std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

}  // namespace

std::vector<ParasitemiaEstimate> EstimateParasitemia(const PredictionSet& p, int positive,
                                                     double sensitivity, double specificity,
                                                     double threshold, int min_cells) {
  const double youden = sensitivity + specificity - 1;
  auto correct = [&](double apparent) {
    if (youden <= 0) return apparent;
    return std::clamp((apparent + specificity - 1) / youden, 0.0, 1.0);
  };
  std::vector<ParasitemiaEstimate> out;
  for (const PatientCounts& c : CountByPatient(p, positive)) {
    ParasitemiaEstimate e{c};
    e.labelled = static_cast<double>(e.labelled_positive) / e.cells;
    const auto [low, high] = Wilson(e.predicted_positive, e.cells, 1.96);
    e.estimate = correct(static_cast<double>(e.predicted_positive) / e.cells);
    e.low = correct(low);
    e.high = correct(high);
    e.infected = e.labelled_positive > 0;
    e.diagnosed = e.estimate >= threshold && e.predicted_positive >= min_cells;
    out.push_back(e);
  }
  return out;
}

double FitPatientThreshold(const std::vector<ParasitemiaEstimate>& patients) {
  if (patients.empty()) return 0.5;
  std::vector<double> candidates = {0.0};
  for (const ParasitemiaEstimate& e : patients) candidates.push_back(e.estimate);
  std::sort(candidates.begin(), candidates.end());
  candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  // Thresholds just above each estimate (and 0): the best run of them, and its middle.
  std::vector<double> thresholds = {candidates[0] > 0 ? candidates[0] / 2 : 1e-9};
  for (size_t i = 0; i + 1 < candidates.size(); ++i) {
    thresholds.push_back((candidates[i] + candidates[i + 1]) / 2);
  }
  thresholds.push_back(std::min(1.0, candidates.back() + 1e-6));
  std::sort(thresholds.begin(), thresholds.end());
  int best = -1;
  size_t first = 0, last = 0;
  for (size_t t = 0; t < thresholds.size(); ++t) {
    int right = 0;
    for (const ParasitemiaEstimate& e : patients) {
      right += (e.estimate >= thresholds[t]) == e.infected;
    }
    if (right > best) {
      best = right;
      first = last = t;
    } else if (right == best && last + 1 == t) {
      last = t;
    }
  }
  return (thresholds[first] + thresholds[last]) / 2;
}

ParasitemiaSummary SummarizeParasitemia(const std::vector<ParasitemiaEstimate>& patients,
                                        double threshold) {
  ParasitemiaSummary s;
  s.set_patients(patients.size());
  s.set_diagnosis_threshold(threshold);
  if (patients.empty()) return s;
  double error = 0;
  int covered = 0, right = 0, infected = 0, caught = 0, healthy = 0, cleared = 0;
  for (const ParasitemiaEstimate& e : patients) {
    error += std::abs(e.estimate - e.labelled);
    covered += e.labelled >= e.low && e.labelled <= e.high;
    const bool diagnosed = e.estimate >= threshold;
    right += diagnosed == e.infected;
    infected += e.infected;
    caught += e.infected && diagnosed;
    healthy += !e.infected;
    cleared += !e.infected && !diagnosed;
  }
  const double n = static_cast<double>(patients.size());
  s.set_mean_absolute_error(error / n);
  s.set_interval_coverage(covered / n);
  s.set_diagnosis_accuracy(right / n);
  s.set_infected_patients(infected);
  // Unset without such patients: no rate can be said.
  if (infected > 0) s.set_diagnosis_sensitivity(static_cast<double>(caught) / infected);
  if (healthy > 0) s.set_diagnosis_specificity(static_cast<double>(cleared) / healthy);
  return s;
}

std::string ParasitemiaCsv(const std::vector<ParasitemiaEstimate>& patients) {
  std::string out =
      "patient,cells,labelled_positive_cells,labelled_fraction,predicted_positive_cells,"
      "estimated_fraction,low,high,infected,diagnosed\n";
  for (const ParasitemiaEstimate& e : patients) {
    absl::StrAppendFormat(&out, "%s,%d,%d,%.4f,%d,%.4f,%.4f,%.4f,%d,%d\n", e.patient, e.cells,
                          e.labelled_positive, e.labelled, e.predicted_positive, e.estimate, e.low,
                          e.high, e.infected, e.diagnosed);
  }
  return out;
}

std::string ScreeningText(const ParasitemiaEstimate& e, const std::string& positive_class,
                          const Calibration* rule) {
  std::string out =
      absl::StrFormat("%d cells, %d called %s", e.cells, e.predicted_positive, positive_class);
  if (rule == nullptr) {
    absl::StrAppendFormat(&out,
                          " (%.1f %%, 95 %% CI %.1f-%.1f %%); no diagnosis: the model has no "
                          "calibration (--calibration=false, or none was fitted)",
                          100 * e.estimate, 100 * e.low, 100 * e.high);
    return out;
  }
  absl::StrAppendFormat(
      &out,
      "; estimated parasitemia %.1f %% (95 %% CI %.1f-%.1f %%, corrected for the model's "
      "sensitivity %.3f and specificity %.3f); diagnosis: %s (rule: estimate >= %.2f %% and >= %d "
      "cells called %s)",
      100 * e.estimate, 100 * e.low, 100 * e.high, rule->sensitivity(), rule->specificity(),
      e.diagnosed ? "INFECTED" : "not infected", 100 * rule->patient_threshold(),
      rule->patient_min_cells(), positive_class);
  return out;
}

PatientRule FitPatientRule(const std::vector<ParasitemiaEstimate>& patients) {
  PatientRule rule;
  if (patients.empty()) return rule;
  constexpr int kMaxFloor = 20;
  // The best accuracy at each cell floor (with its best fraction), then the middle of the floors
  // that reach the best of all.
  std::vector<int> right(kMaxFloor + 1);
  std::vector<double> fraction(kMaxFloor + 1);
  int best = -1;
  for (int floor = 0; floor <= kMaxFloor; ++floor) {
    // The patients the floor leaves undiagnosed cannot be diagnosed by any fraction: fit the
    // fraction on the others, counting those as negative.
    std::vector<ParasitemiaEstimate> eligible;
    int fixed_right = 0;
    for (const ParasitemiaEstimate& e : patients) {
      if (e.predicted_positive >= floor) {
        eligible.push_back(e);
      } else {
        fixed_right += !e.infected;
      }
    }
    fraction[floor] = eligible.empty() ? 0.5 : FitPatientThreshold(eligible);
    right[floor] = fixed_right;
    for (const ParasitemiaEstimate& e : eligible) {
      right[floor] += (e.estimate >= fraction[floor]) == e.infected;
    }
    best = std::max(best, right[floor]);
  }
  int first = -1, last = -1;
  for (int floor = 0; floor <= kMaxFloor; ++floor) {
    if (right[floor] != best) continue;
    if (first < 0) first = floor;
    if (last < 0 || last + 1 == floor) last = floor;
  }
  rule.min_cells = (first + last) / 2;
  rule.fraction = fraction[rule.min_cells];
  return rule;
}

void Diagnose(const PatientRule& rule, std::vector<ParasitemiaEstimate>* patients) {
  for (ParasitemiaEstimate& e : *patients) {
    e.diagnosed = e.estimate >= rule.fraction && e.predicted_positive >= rule.min_cells;
  }
}

}  // namespace malaria::evaluation
