#include "evaluation/metrics.h"

#include <algorithm>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace malaria::evaluation {
namespace {

double Ratio(int64_t a, int64_t b) { return b == 0 ? 0.0 : static_cast<double>(a) / b; }

}  // namespace

double RocAuc(const std::vector<double>& scores, const std::vector<bool>& positive) {
  const size_t n = scores.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  // Average ranks (1-based) over ties, then the Mann-Whitney U of the positives.
  double rank_sum = 0;
  int64_t n_pos = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && scores[order[j]] == scores[order[i]]) ++j;
    const double rank = (i + 1 + j) / 2.0;
    for (size_t k = i; k < j; ++k) {
      if (positive[order[k]]) {
        rank_sum += rank;
        ++n_pos;
      }
    }
    i = j;
  }
  const int64_t n_neg = static_cast<int64_t>(n) - n_pos;
  if (n_pos == 0 || n_neg == 0) return 0.5;
  return (rank_sum - n_pos * (n_pos + 1) / 2.0) / (static_cast<double>(n_pos) * n_neg);
}

ClassificationReport Evaluate(const std::vector<float>& probabilities,
                              const std::vector<int64_t>& labels,
                              const std::vector<std::string>& classes, int positive,
                              double mean_loss) {
  const int c = static_cast<int>(classes.size());
  const int64_t n = static_cast<int64_t>(labels.size());
  std::vector<int64_t> confusion(static_cast<size_t>(c) * c, 0);
  std::vector<double> scores(n);
  std::vector<bool> is_positive(n);
  int64_t correct = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float* row = probabilities.data() + i * c;
    const int predicted = static_cast<int>(std::max_element(row, row + c) - row);
    ++confusion[labels[i] * c + predicted];
    correct += predicted == labels[i];
    scores[i] = row[positive];
    is_positive[i] = labels[i] == positive;
  }
  int64_t tp = 0, fn = 0, fp = 0, tn = 0;
  for (int a = 0; a < c; ++a) {
    for (int p = 0; p < c; ++p) {
      const int64_t k = confusion[a * c + p];
      if (a == positive) {
        (p == positive ? tp : fn) += k;
      } else {
        (p == positive ? fp : tn) += k;
      }
    }
  }
  ClassificationReport r;
  for (const std::string& name : classes) r.add_classes(name);
  r.set_positive_class(classes[positive]);
  r.set_examples(n);
  r.set_loss(mean_loss);
  r.set_accuracy(Ratio(correct, n));
  r.set_error_rate(n == 0 ? 0 : 1 - r.accuracy());
  r.set_sensitivity(Ratio(tp, tp + fn));
  r.set_specificity(Ratio(tn, tn + fp));
  r.set_precision(Ratio(tp, tp + fp));
  r.set_f1(Ratio(2 * tp, 2 * tp + fp + fn));
  r.set_roc_auc(RocAuc(scores, is_positive));
  r.set_true_positives(tp);
  r.set_false_negatives(fn);
  r.set_false_positives(fp);
  r.set_true_negatives(tn);
  r.set_false_negative_rate(Ratio(fn, tp + fn));
  r.set_false_positive_rate(Ratio(fp, fp + tn));
  for (int64_t k : confusion) r.add_confusion(k);
  return r;
}

std::string ConfusionMatrixCsv(const ClassificationReport& report) {
  const int c = report.classes_size();
  std::string out = absl::StrCat("actual\\predicted,", absl::StrJoin(report.classes(), ","), "\n");
  for (int a = 0; a < c; ++a) {
    absl::StrAppend(&out, report.classes(a));
    for (int p = 0; p < c; ++p) absl::StrAppend(&out, ",", report.confusion(a * c + p));
    absl::StrAppend(&out, "\n");
  }
  return out;
}

}  // namespace malaria::evaluation
