#include "experiments/store/pareto.h"

#include <algorithm>
#include <cstdlib>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace malaria::experiments {
namespace {

// The metric `name` of `s`, or nullptr.
const FoldedMetric* FindMetric(const KFoldSummary& s, const std::string& name) {
  for (const FoldedMetric& m : s.metrics) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

double MeanOf(const KFoldSummary& s, const std::string& name) {
  const FoldedMetric* m = FindMetric(s, name);
  return m != nullptr && m->counted > 0 ? m->mean : std::nan("");
}

double SdOf(const KFoldSummary& s, const std::string& name) {
  const FoldedMetric* m = FindMetric(s, name);
  return m != nullptr && m->counted > 1 ? m->sd : std::nan("");
}

std::string Cell(double v, const char* format) {
  return std::isfinite(v) ? absl::StrFormat(format, v) : "-";
}

}  // namespace

std::vector<ParetoPoint> PointsFromKFolds(const std::vector<KFoldSummary>& summaries) {
  std::vector<ParetoPoint> points;
  for (const KFoldSummary& s : summaries) {
    ParetoPoint p;
    p.name = s.experiment;
    p.folds = static_cast<int>(s.present.size());
    p.accuracy = MeanOf(s, "accuracy");
    p.accuracy_sd = SdOf(s, "accuracy");
    p.roc_auc = MeanOf(s, "roc_auc");
    p.tflop = MeanOf(s, "train_tflop");
    p.minutes = MeanOf(s, "train_minutes");
    p.source = s.runs.empty() ? "" : s.runs[0];
    points.push_back(std::move(p));
  }
  return points;
}

absl::StatusOr<std::vector<ParetoPoint>> ParsePointsCsv(const std::string& text,
                                                        const std::string& file) {
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  while (!lines.empty() && absl::StripAsciiWhitespace(lines.back()).empty()) lines.pop_back();
  if (lines.empty() || absl::StripTrailingAsciiWhitespace(lines[0]) != kPointsCsvHeader) {
    return absl::InvalidArgumentError(absl::StrCat(
        file, ": line 1 must be the header \"", kPointsCsvHeader, "\", got \"",
        lines.empty() ? "" : std::string(absl::StripTrailingAsciiWhitespace(lines[0])), "\""));
  }
  const std::vector<std::string> columns = absl::StrSplit(kPointsCsvHeader, ',');
  std::vector<ParetoPoint> points;
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::string where = absl::StrCat(file, ": line ", i + 1);
    const std::string line(absl::StripTrailingAsciiWhitespace(lines[i]));
    if (line.empty()) continue;
    // The last column takes the rest of the line.
    std::vector<std::string> cells =
        absl::StrSplit(line, absl::MaxSplits(',', static_cast<int>(columns.size()) - 1));
    if (cells.size() != columns.size()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": ", cells.size(), " columns, need ",
                                                     columns.size(), " (", kPointsCsvHeader, ")"));
    }
    ParetoPoint p;
    p.name = std::string(absl::StripAsciiWhitespace(cells[0]));
    if (p.name.empty()) return absl::InvalidArgumentError(absl::StrCat(where, ": empty name"));
    auto number = [&](int c, double* out, double lo, double hi) -> absl::Status {
      const std::string cell(absl::StripAsciiWhitespace(cells[c]));
      if (cell.empty()) return absl::OkStatus();
      double v;
      if (!absl::SimpleAtod(cell, &v) || !std::isfinite(v) || v < lo || v > hi) {
        return absl::InvalidArgumentError(absl::StrCat(where, ", column ", columns[c], ": \"", cell,
                                                       "\" is not a number in [", lo, ", ", hi,
                                                       "]"));
      }
      *out = v;
      return absl::OkStatus();
    };
    double folds = 0;
    for (absl::Status s : {number(1, &folds, 0, 1000), number(2, &p.accuracy, 0, 1),
                           number(3, &p.accuracy_sd, 0, 1), number(4, &p.roc_auc, 0, 1),
                           number(5, &p.tflop, 0, 1e9), number(6, &p.minutes, 0, 1e9)}) {
      if (!s.ok()) return s;
    }
    p.folds = static_cast<int>(folds);
    p.source = std::string(absl::StripAsciiWhitespace(cells[7]));
    points.push_back(std::move(p));
  }
  return points;
}

std::vector<int> ParetoFront(const std::vector<ParetoPoint>& points, double ParetoPoint::*cost) {
  auto usable = [&](const ParetoPoint& p) {
    return std::isfinite(p.accuracy) && std::isfinite(p.*cost);
  };
  std::vector<int> front;
  for (size_t i = 0; i < points.size(); ++i) {
    if (!usable(points[i])) continue;
    bool dominated = false;
    for (size_t j = 0; j < points.size() && !dominated; ++j) {
      if (j == i || !usable(points[j])) continue;
      const ParetoPoint &a = points[j], &b = points[i];
      // Costs within kSameCost of each other are the same (one recipe's folds differ a little).
      const double ca = a.*cost, cb = b.*cost;
      const bool same = std::abs(ca - cb) <= kSameCost * std::max(ca, cb);
      dominated = a.accuracy >= b.accuracy && (same || ca < cb) &&
                  (a.accuracy > b.accuracy || (!same && ca < cb));
    }
    if (!dominated) front.push_back(static_cast<int>(i));
  }
  std::sort(front.begin(), front.end(), [&](int a, int b) {
    return points[a].*cost != points[b].*cost ? points[a].*cost < points[b].*cost : a < b;
  });
  return front;
}

std::vector<bool> OnFront(const std::vector<ParetoPoint>& points, double ParetoPoint::*cost) {
  std::vector<bool> on(points.size(), false);
  for (int i : ParetoFront(points, cost)) on[i] = true;
  return on;
}

base::TextTable ParetoTable(const std::vector<ParetoPoint>& points) {
  base::TextTable t;
  t.title = "Accuracy against compute";
  t.header = {"experiment",      "folds",   "accuracy (mean +- sd)", "ROC AUC",
              "TFLOP per model", "minutes", "front (TFLOP)",         "front (minutes)"};
  const std::vector<bool> by_tflop = OnFront(points, &ParetoPoint::tflop);
  const std::vector<bool> by_minutes = OnFront(points, &ParetoPoint::minutes);
  auto on = [](const std::vector<bool>& front, int i) { return front[i] ? "yes" : ""; };
  for (size_t i = 0; i < points.size(); ++i) {
    const ParetoPoint& p = points[i];
    std::string accuracy = Cell(100 * p.accuracy, "%.2f");
    if (std::isfinite(p.accuracy_sd))
      absl::StrAppend(&accuracy, " +- ", Cell(100 * p.accuracy_sd, "%.2f"));
    if (std::isfinite(p.accuracy)) accuracy += " %";
    t.rows.push_back({p.name, absl::StrCat(p.folds), accuracy, Cell(p.roc_auc, "%.4f"),
                      Cell(p.tflop, "%.4g"), Cell(p.minutes, "%.1f"),
                      on(by_tflop, static_cast<int>(i)), on(by_minutes, static_cast<int>(i))});
  }
  return t;
}

}  // namespace malaria::experiments
