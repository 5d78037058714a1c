// Suspect labels, as the study concluded some cells are probably mislabelled: from out-of-fold
// predictions (each image predicted by the model of the fold that held it out), the images whose
// given label the models contradict with high confidence, confident-learning style: an image
// labelled c is suspect when the predicted probability of another class j reaches class j's
// threshold, the average probability of j over the images labelled j (its self-confidence).
// Nothing is ever relabelled: the output is for a microscopist to review.
//
//   std::vector<Suspect> s = FindSuspects(oof, classes, &thresholds);
#ifndef MALARIA_TOOLS_SUSPECTS_H_
#define MALARIA_TOOLS_SUSPECTS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace malaria::tools {

// One out-of-fold prediction, as read from a run's predictions.csv.
struct OofPrediction {
  std::string path;  // relative to the data root
  int label = 0;
  std::vector<double> probabilities;
};

struct Suspect {
  OofPrediction prediction;
  int suggested = 0;      // the class the models say
  double confidence = 0;  // its probability
  double threshold = 0;   // its self-confidence threshold
};

// FindSuspects returns the suspects, most confident first, and the per-class thresholds.
std::vector<Suspect> FindSuspects(const std::vector<OofPrediction>& predictions, int num_classes,
                                  std::vector<double>* thresholds);

// ParsePredictionsCsv reads predictions.csv (path,label,predicted,p_<class>...,loss) with
// `classes` as the label names. InvalidArgument naming the line on malformed input.
absl::StatusOr<std::vector<OofPrediction>> ParsePredictionsCsv(
    const std::string& text, const std::vector<std::string>& classes);

}  // namespace malaria::tools

#endif  // MALARIA_TOOLS_SUSPECTS_H_
