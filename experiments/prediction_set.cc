#include "experiments/prediction_set.h"

#include <filesystem>

namespace malaria::experiments {

evaluation::PredictionSet ToPredictionSet(const training::Predictions& p,
                                          const data::Dataset& dataset) {
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

}  // namespace malaria::experiments
