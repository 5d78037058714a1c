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

// How well the fold models predict, out of fold.
struct OofQuality {
  double accuracy = 0;       // arg-max class against the given labels
  double chance = 0;         // the accuracy of always answering the commonest class
  double suspect_share = 0;  // suspects / images
};

// OofQuality returns the out-of-fold accuracy, chance level and share of suspects.
OofQuality MeasureOof(const std::vector<OofPrediction>& predictions, int num_classes,
                      size_t suspects);

// WeakModelWarning returns a warning when the fold models are too weak for their disagreements
// to say anything about the labels (out-of-fold accuracy below 0.8, or within 0.1 of chance, or
// more than 15 % of the images suspect), else "". With such models most "suspects" are the models'
// own errors: train the folds longer before anyone reviews them.
std::string WeakModelWarning(const OofQuality& quality);

// ParsePredictionsCsv reads predictions.csv (path,label,predicted,p_<class>...,loss) with
// `classes` as the label names. InvalidArgument naming the line on malformed input.
absl::StatusOr<std::vector<OofPrediction>> ParsePredictionsCsv(
    const std::string& text, const std::vector<std::string>& classes);

}  // namespace malaria::tools

#endif  // MALARIA_TOOLS_SUSPECTS_H_
