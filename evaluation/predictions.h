// A model's predictions over a labelled set, as evaluation needs them (no LibTorch).
#ifndef MALARIA_EVALUATION_PREDICTIONS_H_
#define MALARIA_EVALUATION_PREDICTIONS_H_

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace malaria::evaluation {

struct PredictionSet {
  int num_classes = 0;
  std::vector<float> probabilities;  // N x num_classes, row-major
  std::vector<int64_t> labels;
  std::vector<float> losses;        // per-example cross-entropy
  std::vector<std::string> paths;   // relative to the data root
  std::vector<std::string> groups;  // patient of each example ("" when unknown)
  double mean_loss = 0;
  // How a class is decided: the arg-max, or, for two classes with decision_positive >= 0, that
  // class when its probability reaches decision_threshold (a threshold fitted on validation:
  // evaluation/calibration.h).
  int decision_positive = -1;
  double decision_threshold = 0.5;

  int size() const { return static_cast<int>(labels.size()); }
  const float* Row(int i) const {
    return probabilities.data() + static_cast<size_t>(i) * num_classes;
  }
  // Predicted returns the class decided for example i.
  int Predicted(int i) const {
    const float* row = Row(i);
    if (decision_positive >= 0 && num_classes == 2) {
      return row[decision_positive] >= decision_threshold ? decision_positive
                                                          : 1 - decision_positive;
    }
    return static_cast<int>(std::max_element(row, row + num_classes) - row);
  }
};

// SubsetOf returns the examples of `p` at `indices`, in that order (decision rule, classes and
// mean loss as `p`'s).
inline PredictionSet SubsetOf(const PredictionSet& p, const std::vector<int>& indices) {
  PredictionSet out;
  out.num_classes = p.num_classes;
  out.mean_loss = p.mean_loss;
  out.decision_positive = p.decision_positive;
  out.decision_threshold = p.decision_threshold;
  for (int i : indices) {
    out.probabilities.insert(out.probabilities.end(), p.Row(i), p.Row(i) + p.num_classes);
    out.labels.push_back(p.labels[i]);
    if (i < static_cast<int>(p.losses.size())) out.losses.push_back(p.losses[i]);
    if (i < static_cast<int>(p.paths.size())) out.paths.push_back(p.paths[i]);
    if (i < static_cast<int>(p.groups.size())) out.groups.push_back(p.groups[i]);
  }
  return out;
}

}  // namespace malaria::evaluation

#endif  // MALARIA_EVALUATION_PREDICTIONS_H_
