// A network's predictions over a loader's examples, and their conversion to what evaluation takes.
// No LibTorch: the learner's callbacks and the run recorder see them too.
//
//   inference::Predictions p = ...;                          // Predictor::PredictLoader,
//   validation evaluation::PredictionSet set = ToPredictionSet(p, source->dataset());
#ifndef MALARIA_INFERENCE_PREDICTIONS_H_
#define MALARIA_INFERENCE_PREDICTIONS_H_

#include <cstdint>
#include <vector>

#include "data/dataset.h"
#include "evaluation/predictions.h"

namespace malaria::inference {

// Model outputs over a loader's examples, in the loader's order.
struct Predictions {
  int num_classes = 0;
  std::vector<float> probabilities;  // N x num_classes, softmax, row-major
  std::vector<int64_t> labels;
  std::vector<int> indices;   // dataset indices
  std::vector<float> losses;  // per-example cross-entropy
  double mean_loss = 0;

  int size() const { return static_cast<int>(labels.size()); }
  // Predicted returns the arg-max class of example i.
  int Predicted(int i) const;
  // Accuracy returns the fraction of examples whose arg-max class is the label.
  double Accuracy() const;
};

// ToPredictionSet converts `predictions`, adding each example's path (relative to the data root)
// and patient from `dataset`.
evaluation::PredictionSet ToPredictionSet(const Predictions& predictions,
                                          const data::Dataset& dataset);

}  // namespace malaria::inference

#endif  // MALARIA_INFERENCE_PREDICTIONS_H_
