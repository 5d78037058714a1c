// Accuracy against compute: each patient k-fold experiment as one point (its mean accuracy over
// the folds +- sd, against the training TFLOP and the minutes of training per fold model), points
// measured earlier from a CSV file, and which of them lie on the Pareto front (no other point is
// as accurate for less). What `pareto_plot` draws and the dashboard's compare view shows.
//
//   std::vector<ParetoPoint> points = PointsFromKFolds(SummarizeKFolds(runs));
//   absl::StatusOr<std::vector<ParetoPoint>> more = ParsePointsCsv(text, "docs/pareto_points.csv");
//   std::vector<int> front = ParetoFront(points, &ParetoPoint::tflop);
#ifndef MALARIA_EXPERIMENTS_STORE_PARETO_H_
#define MALARIA_EXPERIMENTS_STORE_PARETO_H_

#include <cmath>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "base/text_table.h"
#include "experiments/store/kfold.h"

namespace malaria::experiments {

struct ParetoPoint {
  std::string name;
  int folds = 0;
  double accuracy = std::nan("");     // mean over the folds, a fraction
  double accuracy_sd = std::nan("");  // sample standard deviation over the folds
  double roc_auc = std::nan("");
  double tflop = std::nan("");    // training TFLOP per fold model (mean over the folds)
  double minutes = std::nan("");  // minutes of training per fold model (mean over the folds)
  std::string source;             // the first fold's run folder, or the CSV's `measured` column
};

// PointsFromKFolds makes one point per summary (SummarizeKFolds) from its accuracy, roc_auc,
// train_tflop and train_minutes metrics; the name is the experiment's.
std::vector<ParetoPoint> PointsFromKFolds(const std::vector<KFoldSummary>& summaries);

// The header a points file starts with; one point per line after it, `measured` (the rest of the
// line, commas allowed) saying how, where and when. Accuracies are fractions; empty cells are
// unknown values.
inline constexpr char kPointsCsvHeader[] =
    "name,folds,accuracy,accuracy_sd,roc_auc,tflop,minutes,measured";

// ParsePointsCsv reads such a file's text; errors name `file`, the line and the column.
absl::StatusOr<std::vector<ParetoPoint>> ParsePointsCsv(const std::string& text,
                                                        const std::string& file);

// Costs closer than this fraction of the larger are the same cost: the same recipe on other
// patients, or a rounded figure, costs a little more or less.
inline constexpr double kSameCost = 0.005;

// ParetoFront returns the indices of the points that no other point dominates (accuracy at least
// as high for a cost at most as high, one of them strictly; costs within kSameCost are equal),
// ordered by cost (`cost` is
// &ParetoPoint::tflop or &ParetoPoint::minutes). Points without accuracy or cost are left out.
std::vector<int> ParetoFront(const std::vector<ParetoPoint>& points, double ParetoPoint::*cost);

// OnFront returns, for each point, whether ParetoFront puts it on the front.
std::vector<bool> OnFront(const std::vector<ParetoPoint>& points, double ParetoPoint::*cost);

// ParetoTable: one row per point: name, folds, accuracy (mean +- sd, in %), ROC AUC, TFLOP,
// minutes, and whether the point is on the front by TFLOP and by minutes.
base::TextTable ParetoTable(const std::vector<ParetoPoint>& points);

}  // namespace malaria::experiments

#endif  // MALARIA_EXPERIMENTS_STORE_PARETO_H_
