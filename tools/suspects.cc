#include "tools/suspects.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace malaria::tools {

std::vector<Suspect> FindSuspects(const std::vector<OofPrediction>& predictions, int num_classes,
                                  std::vector<double>* thresholds) {
  std::vector<double> sum(num_classes, 0);
  std::vector<int> count(num_classes, 0);
  for (const OofPrediction& p : predictions) {
    sum[p.label] += p.probabilities[p.label];
    ++count[p.label];
  }
  thresholds->assign(num_classes, 1.0);
  for (int c = 0; c < num_classes; ++c) {
    if (count[c] > 0) (*thresholds)[c] = sum[c] / count[c];
  }
  std::vector<Suspect> suspects;
  for (const OofPrediction& p : predictions) {
    int best = -1;
    for (int j = 0; j < num_classes; ++j) {
      if (j == p.label || p.probabilities[j] < (*thresholds)[j]) continue;
      if (best < 0 || p.probabilities[j] > p.probabilities[best]) best = j;
    }
    if (best >= 0) suspects.push_back({p, best, p.probabilities[best], (*thresholds)[best]});
  }
  std::stable_sort(suspects.begin(), suspects.end(),
                   [](const Suspect& a, const Suspect& b) { return a.confidence > b.confidence; });
  return suspects;
}

OofQuality MeasureOof(const std::vector<OofPrediction>& predictions, int num_classes,
                      size_t suspects) {
  OofQuality q;
  if (predictions.empty()) return q;
  std::vector<int> count(num_classes, 0);
  int correct = 0;
  for (const OofPrediction& p : predictions) {
    ++count[p.label];
    const int predicted = static_cast<int>(
        std::max_element(p.probabilities.begin(), p.probabilities.end()) - p.probabilities.begin());
    correct += predicted == p.label;
  }
  const double n = static_cast<double>(predictions.size());
  q.accuracy = correct / n;
  q.chance = *std::max_element(count.begin(), count.end()) / n;
  q.suspect_share = suspects / n;
  return q;
}

std::string WeakModelWarning(const OofQuality& q) {
  if (q.accuracy >= 0.8 && q.accuracy - q.chance >= 0.1 && q.suspect_share <= 0.15) return "";
  return absl::StrFormat(
      "the fold models are too weak for these suspects to mean much: out-of-fold accuracy %.3f "
      "(chance %.3f), %.1f %% of the images suspect. Most suspects are then the models' own "
      "errors, not wrong labels; train the folds longer (more epochs, a better recipe) before "
      "anyone reviews them.",
      q.accuracy, q.chance, 100 * q.suspect_share);
}

absl::StatusOr<std::vector<OofPrediction>> ParsePredictionsCsv(
    const std::string& text, const std::vector<std::string>& classes) {
  std::vector<OofPrediction> out;
  const std::vector<std::string> lines = absl::StrSplit(text, '\n', absl::SkipEmpty());
  const size_t fields = 4 + classes.size();
  for (size_t n = 1; n < lines.size(); ++n) {
    const std::vector<std::string> f = absl::StrSplit(lines[n], ',');
    if (f.size() != fields) {
      return absl::InvalidArgumentError(absl::StrCat("predictions.csv line ", n + 1, ": ", f.size(),
                                                     " fields, expected ", fields));
    }
    OofPrediction p;
    p.path = f[0];
    const auto it = std::find(classes.begin(), classes.end(), f[1]);
    if (it == classes.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("predictions.csv line ", n + 1, ": unknown class '", f[1], "'"));
    }
    p.label = static_cast<int>(it - classes.begin());
    for (size_t c = 0; c < classes.size(); ++c) {
      double v;
      if (!absl::SimpleAtod(f[3 + c], &v)) {
        return absl::InvalidArgumentError(
            absl::StrCat("predictions.csv line ", n + 1, ": bad probability"));
      }
      p.probabilities.push_back(v);
    }
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace malaria::tools
