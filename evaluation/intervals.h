// How uncertain a model's numbers are for new patients. Cells of one patient are not independent
// (one slide, one stain, one parasitemia: a few patients hold most errors), so every interval
// resamples patients, never cells:
//
//   PatientBootstrap boot(predictions, /*positive=*/0);    // cells grouped by patient
//   MetricIntervals ci = boot.Intervals(BootstrapOptions());
//   ci.accuracy.estimate, ci.accuracy.low, ci.accuracy.high   // 95 %, percentile bootstrap
//   absl::StatusOr<MetricIntervals> d = PairedDifference(a, b, 0, options);   // a - b, same cells
//   Interval diagnosed = ClopperPearson(61, 68);           // exact binomial, for patient counts
//
// No LibTorch. Seeded: the same predictions and options give the same intervals.
#ifndef MALARIA_EVALUATION_INTERVALS_H_
#define MALARIA_EVALUATION_INTERVALS_H_

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "evaluation/predictions.h"
#include "evaluation/report.pb.h"

namespace malaria::evaluation {

struct Interval {
  double estimate = std::nan("");
  double low = std::nan("");
  double high = std::nan("");
  bool known() const { return std::isfinite(estimate); }
};

struct BootstrapOptions {
  int replicates = 2000;
  uint64_t seed = 1;
  double level = 0.95;
};

struct MetricIntervals {
  Interval accuracy, roc_auc, sensitivity, specificity;
  int units = 0;           // patients resampled (cells without a patient count one each)
  bool by_patient = true;  // every cell had a patient
  int replicates = 0;
};

// The metrics of a set of cells at patient multiplicities, for the bootstrap.
struct CellMetrics {
  double accuracy = std::nan(""), roc_auc = std::nan(""), sensitivity = std::nan(""),
         specificity = std::nan("");
};

class PatientBootstrap {
 public:
  // The cells of `predictions` grouped by PredictionSet::groups (a cell without a group is a unit
  // of its own), decided as PredictionSet::Predicted decides them; `positive` is the positive
  // class (its probability the ROC score).
  PatientBootstrap(const PredictionSet& predictions, int positive);

  // Metrics with each unit counted `weights[u]` times (units in the order of units()).
  CellMetrics At(const std::vector<double>& weights) const;
  // The interval of each metric: the estimate on the cells as they are, and the percentiles
  // of its distribution over `options.replicates` resamples of the units with replacement.
  MetricIntervals Intervals(const BootstrapOptions& options) const;
  // The prediction interval of each metric on a new group of `group` patients like these: each
  // replicate resamples the units (what is known of them) and then draws `group` of that resample
  // (which patients come next), so the interval holds both uncertainties. Wider than Intervals,
  // the more so the smaller the group.
  MetricIntervals NewGroupIntervals(int group, const BootstrapOptions& options) const;

  const std::vector<std::string>& units() const { return units_; }
  bool by_patient() const { return by_patient_; }

 private:
  struct Unit {
    double cells = 0, correct = 0, tp = 0, fn = 0, fp = 0, tn = 0;
  };
  std::vector<std::string> units_;
  std::vector<Unit> counts_;
  // Cells in ascending score: their unit and whether they are positive; tie groups end where
  // tie_end_ says.
  std::vector<int> cell_unit_;
  std::vector<bool> cell_positive_;
  std::vector<bool> tie_end_;
  bool by_patient_ = true;
};

// BootstrapWeights draws one resample of `units` units with replacement: how often each is drawn.
std::vector<double> BootstrapWeights(int units, uint64_t seed, int replicate);

// PercentileInterval returns the (1 - level) / 2 and (1 + level) / 2 quantiles of the finite
// `values` (linear interpolation), with `estimate`; NaN ends when none is finite.
Interval PercentileInterval(double estimate, std::vector<double> values, double level);

// PairedDifference: the interval of metric(a) - metric(b) for two models' predictions on the same
// cells (paths and labels equal, in the same order), both resampled with the same patients in
// each replicate. InvalidArgument when the sets are not of the same cells.
absl::StatusOr<MetricIntervals> PairedDifference(const PredictionSet& a, const PredictionSet& b,
                                                 int positive, const BootstrapOptions& options);

// ClopperPearson: the exact binomial interval of `successes` out of `trials` at `level` (the
// estimate successes / trials); unknown (NaN) without trials.
Interval ClopperPearson(int64_t successes, int64_t trials, double level = 0.95);

// RegularizedIncompleteBeta: I_x(a, b), for the binomial and beta quantiles.
double RegularizedIncompleteBeta(double a, double b, double x);

// ToProto: an Interval as report.proto keeps it.
ValueInterval ToProto(const Interval& interval);

// PatientIntervalsOf fills report.proto's PatientIntervals: the bootstrap's cell metrics and, when
// `report` has a patient summary (and a parasitemia summary), the exact intervals of its patient
// diagnosis counts.
PatientIntervals PatientIntervalsOf(const PredictionSet& predictions, int positive,
                                    const ClassificationReport& report,
                                    const BootstrapOptions& options);

// IntervalText: "96.0 % (95 % CI 94.1-97.3)" for a rate as a percentage with `digits`
// decimals; "-" when unknown.
std::string IntervalText(const Interval& interval, int digits = 1, double level = 0.95);

// DifferenceText says what a PairedDifference found, for the terminal: "accuracy +0.56 points
// (95 % CI +0.30 to +0.81), ROC AUC +0.30 points (...), sensitivity ..., specificity ...".
std::string DifferenceText(const MetricIntervals& difference);

// IntervalsToProto: bootstrap intervals (of metrics, PatientIntervalsOf's, or a PairedDifference's
// of their differences) as report.proto keeps them, the cell metrics only.
PatientIntervals IntervalsToProto(const MetricIntervals& difference,
                                  const BootstrapOptions& options);

// PatientIntervalsText says what a report's intervals are, for the terminal: "95 % intervals over
// 16 patients (bootstrap, 2000 resamples): accuracy 96.1 % (93.9-97.8), ROC AUC 0.991
// (0.982-0.996), ..." and, with a diagnosis, its exact intervals. "" without intervals.
std::string PatientIntervalsText(const PatientIntervals& intervals);

}  // namespace malaria::evaluation

#endif  // MALARIA_EVALUATION_INTERVALS_H_
