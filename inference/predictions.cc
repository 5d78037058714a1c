#include "inference/predictions.h"

#include <algorithm>
#include <filesystem>

namespace malaria::inference {

int Predictions::Predicted(int i) const {
  const float* row = probabilities.data() + static_cast<size_t>(i) * num_classes;
  return static_cast<int>(std::max_element(row, row + num_classes) - row);
}

double Predictions::Accuracy() const {
  if (labels.empty()) return 0;
  int correct = 0;
  for (int i = 0; i < size(); ++i) correct += Predicted(i) == labels[i];
  return static_cast<double>(correct) / size();
}

evaluation::PredictionSet ToPredictionSet(const Predictions& p, const data::Dataset& dataset) {
  evaluation::PredictionSet set;
  set.num_classes = p.num_classes;
  set.probabilities = p.probabilities;
  set.labels = p.labels;
  set.losses = p.losses;
  set.mean_loss = p.mean_loss;
  const std::filesystem::path root(dataset.root);
  for (int index : p.indices) {
    const data::Example& e = dataset.examples[index];
    set.paths.push_back(std::filesystem::path(e.path).lexically_relative(root).string());
    set.groups.push_back(e.group);
  }
  return set;
}

}  // namespace malaria::inference
