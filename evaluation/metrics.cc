#include "evaluation/metrics.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "evaluation/patient_counts.h"

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
                              double mean_loss, double threshold) {
  const int c = static_cast<int>(classes.size());
  const int64_t n = static_cast<int64_t>(labels.size());
  std::vector<int64_t> confusion(static_cast<size_t>(c) * c, 0);
  std::vector<double> scores(n);
  std::vector<bool> is_positive(n);
  int64_t correct = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float* row = probabilities.data() + i * c;
    const int predicted = threshold >= 0 && c == 2
                              ? (row[positive] >= threshold ? positive : 1 - positive)
                              : static_cast<int>(std::max_element(row, row + c) - row);
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

double ExpectedCalibrationError(const PredictionSet& p, int bins) {
  if (p.size() == 0 || bins < 1) return 0;
  std::vector<double> confidence(bins, 0), correct(bins, 0);
  std::vector<int64_t> count(bins, 0);
  for (int i = 0; i < p.size(); ++i) {
    const int predicted = p.Predicted(i);
    const double c = p.Row(i)[predicted];
    const int b = std::min(bins - 1, static_cast<int>(c * bins));
    confidence[b] += c;
    correct[b] += predicted == p.labels[i];
    ++count[b];
  }
  double ece = 0;
  for (int b = 0; b < bins; ++b) {
    if (count[b] > 0) ece += std::abs(correct[b] - confidence[b]) / p.size();
  }
  return ece;
}

std::vector<PatientResult> PerPatient(const PredictionSet& p, int positive, double threshold,
                                      int min_cells) {
  std::vector<PatientResult> out;
  for (const PatientCounts& c : CountByPatient(p, positive)) {
    PatientResult r{c};
    r.accuracy = static_cast<double>(c.correct) / r.cells;
    r.infected = r.labelled_positive > 0;
    r.diagnosed = static_cast<double>(r.predicted_positive) / r.cells >= threshold &&
                  r.predicted_positive >= min_cells;
    out.push_back(r);
  }
  return out;
}

std::string PatientCsv(const std::vector<PatientResult>& patients) {
  std::string out =
      "patient,cells,positive_cells,predicted_positive_cells,accuracy,infected,diagnosed\n";
  for (const PatientResult& r : patients) {
    absl::StrAppendFormat(&out, "%s,%d,%d,%d,%.6f,%d,%d\n", r.patient, r.cells, r.labelled_positive,
                          r.predicted_positive, r.accuracy, r.infected, r.diagnosed);
  }
  return out;
}

ClassificationReport Evaluate(const PredictionSet& p, const std::vector<std::string>& classes,
                              int positive, const EvaluationConfig& config) {
  ClassificationReport r = Evaluate(p.probabilities, p.labels, classes, positive, p.mean_loss,
                                    p.decision_positive == positive ? p.decision_threshold : -1.0);
  r.set_expected_calibration_error(ExpectedCalibrationError(p, config.calibration_bins()));
  const std::vector<PatientResult> patients =
      PerPatient(p, positive, config.patient_positive_fraction(), config.patient_min_cells());
  if (!patients.empty()) {
    PatientSummary* s = r.mutable_patients();
    s->set_patients(patients.size());
    s->set_diagnosis_threshold(config.patient_positive_fraction());
    double accuracy = 0;
    int64_t right = 0, infected = 0, missed = 0, false_alarms = 0;
    for (const PatientResult& pr : patients) {
      accuracy += pr.accuracy / patients.size();
      right += pr.infected == pr.diagnosed;
      infected += pr.infected;
      missed += pr.infected && !pr.diagnosed;
      false_alarms += !pr.infected && pr.diagnosed;
    }
    s->set_mean_cell_accuracy(accuracy);
    s->set_diagnosis_accuracy(static_cast<double>(right) / patients.size());
    s->set_infected_patients(infected);
    s->set_missed_patients(missed);
    s->set_false_alarm_patients(false_alarms);
  }
  return r;
}

std::string MostConfused(const ClassificationReport& report, int min_count) {
  const int c = report.classes_size();
  std::vector<std::tuple<int64_t, int, int>> cells;
  for (int a = 0; a < c; ++a) {
    for (int p = 0; p < c; ++p) {
      const int64_t n = report.confusion(a * c + p);
      if (a != p && n >= min_count) cells.emplace_back(n, a, p);
    }
  }
  std::stable_sort(cells.begin(), cells.end(),
                   [](const auto& x, const auto& y) { return std::get<0>(x) > std::get<0>(y); });
  std::string out;
  for (const auto& [n, a, p] : cells) {
    absl::StrAppend(&out, report.classes(a), " -> ", report.classes(p), ": ", n, "\n");
  }
  return out;
}

std::vector<int> TopLosses(const PredictionSet& p, int k) {
  std::vector<int> order(p.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return p.losses[a] > p.losses[b]; });
  order.resize(std::min<size_t>(order.size(), std::max(0, k)));
  return order;
}

void RocCurve(const PredictionSet& p, int positive, std::vector<double>* fpr,
              std::vector<double>* tpr) {
  std::vector<int> order(p.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](int a, int b) { return p.Row(a)[positive] > p.Row(b)[positive]; });
  int64_t pos = 0, neg = 0;
  for (int64_t l : p.labels) (l == positive ? pos : neg)++;
  fpr->assign(1, 0.0);
  tpr->assign(1, 0.0);
  int64_t tp = 0, fp = 0;
  for (size_t j = 0; j < order.size(); ++j) {
    (p.labels[order[j]] == positive ? tp : fp)++;
    const bool tie =
        j + 1 < order.size() && p.Row(order[j + 1])[positive] == p.Row(order[j])[positive];
    if (tie) continue;
    fpr->push_back(neg == 0 ? 0.0 : static_cast<double>(fp) / neg);
    tpr->push_back(pos == 0 ? 0.0 : static_cast<double>(tp) / pos);
  }
  if (fpr->back() != 1.0 || tpr->back() != 1.0) {
    fpr->push_back(1.0);
    tpr->push_back(1.0);
  }
}

std::string PredictionsCsv(const PredictionSet& p, const std::vector<std::string>& classes) {
  std::string out = "path,label,predicted";
  for (const std::string& c : classes) absl::StrAppend(&out, ",p_", c);
  absl::StrAppend(&out, ",loss\n");
  for (int i = 0; i < p.size(); ++i) {
    absl::StrAppend(&out, i < static_cast<int>(p.paths.size()) ? p.paths[i] : "", ",",
                    classes[p.labels[i]], ",", classes[p.Predicted(i)]);
    for (int c = 0; c < p.num_classes; ++c) absl::StrAppendFormat(&out, ",%.6f", p.Row(i)[c]);
    absl::StrAppendFormat(&out, ",%.6f\n",
                          i < static_cast<int>(p.losses.size()) ? p.losses[i] : 0.0f);
  }
  return out;
}

absl::StatusOr<PredictionSet> ReadPredictionsCsv(
    const std::string& csv, const std::string& source, const std::vector<std::string>& classes,
    const std::function<std::string(const std::string&)>& group_of) {
  std::vector<std::string> lines = absl::StrSplit(csv, '\n', absl::SkipEmpty());
  auto bad = [&](size_t line, const std::string& what) {
    return absl::InvalidArgumentError(absl::StrCat(source, ":", line + 1, ": ", what));
  };
  if (lines.empty()) return bad(0, "empty: no header");
  std::string header = "path,label,predicted";
  for (const std::string& c : classes) absl::StrAppend(&header, ",p_", c);
  absl::StrAppend(&header, ",loss");
  if (lines[0] != header) return bad(0, absl::StrCat("the header is not '", header, "'"));
  PredictionSet p;
  p.num_classes = static_cast<int>(classes.size());
  double loss_sum = 0;
  for (size_t i = 1; i < lines.size(); ++i) {
    // The path may hold commas; the other fields never do: split from the right.
    std::vector<std::string> fields = absl::StrSplit(lines[i], ',');
    const size_t n = fields.size(), tail = 3 + classes.size();  // label, predicted, p_*, loss
    if (n < tail + 1) return bad(i, "too few fields");
    const std::string path = absl::StrJoin(fields.begin(), fields.end() - tail, ",");
    const auto label = std::find(classes.begin(), classes.end(), fields[n - tail]);
    if (label == classes.end())
      return bad(i, absl::StrCat("unknown label '", fields[n - tail], "'"));
    for (size_t c = 0; c < classes.size(); ++c) {
      float v;
      if (!absl::SimpleAtof(fields[n - tail + 2 + c], &v) || !std::isfinite(v)) {
        return bad(i, absl::StrCat("p_", classes[c], " '", fields[n - tail + 2 + c],
                                   "' is not a probability"));
      }
      p.probabilities.push_back(v);
    }
    float loss;
    if (!absl::SimpleAtof(fields[n - 1], &loss)) return bad(i, "the loss is not a number");
    p.labels.push_back(label - classes.begin());
    p.losses.push_back(loss);
    p.paths.push_back(path);
    p.groups.push_back(group_of(path));
    loss_sum += loss;
  }
  p.mean_loss = p.size() > 0 ? loss_sum / p.size() : 0;
  return p;
}

std::string RateText(bool known, double rate, int digits, const std::string& why) {
  if (!known) return absl::StrCat("- (", why, ")");
  return absl::StrFormat("%.*f", digits, rate);
}

}  // namespace malaria::evaluation
