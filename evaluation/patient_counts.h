// A prediction set's cells counted by patient: what the per-patient metrics (metrics.h) and the
// parasitemia estimates (calibration.h) start from. No LibTorch.
#ifndef MALARIA_EVALUATION_PATIENT_COUNTS_H_
#define MALARIA_EVALUATION_PATIENT_COUNTS_H_

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "evaluation/predictions.h"

namespace malaria::evaluation {

// A patient's cells in a prediction set, counted.
struct PatientCounts {
  std::string patient;
  int cells = 0;
  int labelled_positive = 0;   // labelled `positive`
  int predicted_positive = 0;  // decided `positive` (Predicted)
  int correct = 0;             // decided as labelled
};

// CountByPatient returns the counts of each patient of `p` (its groups), sorted by name; examples
// without a patient are left out. What the per-patient metrics and the parasitemia estimates
// start from.
inline std::vector<PatientCounts> CountByPatient(const PredictionSet& p, int positive) {
  std::map<std::string, PatientCounts> by_patient;
  for (int i = 0; i < p.size() && i < static_cast<int>(p.groups.size()); ++i) {
    if (p.groups[i].empty()) continue;
    PatientCounts& c = by_patient[p.groups[i]];
    c.patient = p.groups[i];
    ++c.cells;
    const int predicted = p.Predicted(i);
    c.labelled_positive += p.labels[i] == positive;
    c.predicted_positive += predicted == positive;
    c.correct += predicted == p.labels[i];
  }
  std::vector<PatientCounts> out;
  for (auto& [name, c] : by_patient) out.push_back(std::move(c));
  return out;
}

}  // namespace malaria::evaluation

#endif  // MALARIA_EVALUATION_PATIENT_COUNTS_H_
