// A patient-level k-fold experiment read back as one result: each fold's latest completed run and
// the mean and standard deviation over the folds of what their final models scored. What the
// _kfold targets print after running every fold, and what compare_runs shows for such runs.
//
//   std::vector<KFoldSummary> folds = SummarizeKFolds(runs);   // runs: LoadRun of each directory
//   std::cout << KFoldText(folds[0]);
//   // accuracy 0.9512 +- 0.0061 over 5 folds ... (fold 3 missing: no COMPLETED run)
#ifndef MALARIA_EXPERIMENTS_STORE_KFOLD_H_
#define MALARIA_EXPERIMENTS_STORE_KFOLD_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "base/text_table.h"
#include "evaluation/evaluation_config.pb.h"
#include "evaluation/intervals.h"
#include "evaluation/predictions.h"
#include "evaluation/report.pb.h"
#include "experiments/store/run_reader.h"

namespace malaria::experiments {

// One metric over the folds. `values` has one entry per fold present (NaN where that fold's run
// does not have it); mean and sd (the sample standard deviation) are over the finite ones.
struct FoldedMetric {
  std::string name;
  std::vector<double> values;
  double mean = 0;
  double sd = 0;
  int counted = 0;  // finite values
};

// The folds' final predictions pooled: every cell predicted once, by the fold model that never saw
// its patient (experiments/store/out_of_fold.h fills it).
struct PooledOutOfFold {
  std::shared_ptr<const evaluation::PredictionSet> predictions;  // in fold, then file order
  std::vector<int> fold;                                         // each cell's fold
  std::vector<std::string> classes;
  int positive = 0;
  evaluation::ClassificationReport report;  // with its patient intervals
  evaluation::EvaluationConfig evaluation;  // the folds' (the first's) evaluation config
  // The rules fitted on every patient's out-of-fold predictions, once FitOutOfFoldRules has run
  // (out_of_fold.h; empty before).
  evaluation::Calibration calibration;
};

struct KFoldSummary {
  std::string experiment;
  int folds = 0;                  // k
  std::string fingerprint;        // of the data
  std::vector<int> present;       // folds with a COMPLETED run, ascending
  std::vector<int> missing;       // folds without one
  std::vector<std::string> runs;  // the run directory used for each present fold
  std::vector<FoldedMetric> metrics;
  // Once AddOutOfFold has read the folds' predictions (every fold present, each with its
  // predictions.csv); KFoldText then leads with it.
  std::optional<PooledOutOfFold> pooled;
  std::string pooled_note;  // why there is none, when AddOutOfFold could not pool
};

// SummarizeKFolds groups the patient_kfold runs among `runs` by experiment, k and data
// fingerprint, takes each fold's latest COMPLETED run (by run id), and folds these metrics of
// their final models over the folds: accuracy, ROC AUC, sensitivity, specificity, expected
// calibration error, patient-level diagnosis accuracy (the config's fixed fraction), then with the
// calibration fitted on the fold's validation set (in-sample; "-" for runs without one) the
// accuracy, the mean absolute parasitemia error per patient and the fitted patient rule's
// accuracy, then mean seconds per epoch, the minutes of training (TrainingSeconds), the training
// TFLOP (docs/run_record.md#compute-accounting)
// and the seconds to reach each accuracy threshold recorded.
// Groups come sorted by experiment.
std::vector<KFoldSummary> SummarizeKFolds(const std::vector<LoadedRun>& runs);

// KFoldTable returns the per-fold rows ("fold", then one column per metric; four decimals, whole
// seconds for times, "-" where a fold lacks the metric) and a last row of mean +- sd.
base::TextTable KFoldTable(const KFoldSummary& summary);

// PooledLine says what a pool of out-of-fold predictions scored, with its intervals: "Pooled
// out-of-fold (each of 18388 cells ...): 95 % intervals over 132 patients ...".
std::string PooledLine(const PooledOutOfFold& pooled);

// KFoldText returns a table, one row per fold and a last row of mean +- sd, and says which folds
// are missing.
std::string KFoldText(const KFoldSummary& summary);

// Two k-fold experiments over the same folds, compared fold by fold: `b` (the candidate) against
// `a` (the baseline) on every fold both completed whose validation cells are the same in both
// (their split/valid.txt files are identical). Fold-to-fold spread is most of a k-fold mean's
// standard deviation and both experiments share it, so the paired differences say whether `b` is
// better far more sharply than the two means +- sd do.
struct PairedKFolds {
  std::string a, b;                   // experiments
  std::vector<int> folds;             // paired folds, ascending
  std::vector<std::string> unpaired;  // "fold 3: ..." for folds both have but cannot be paired
  // Per metric both have: the mean of a and of b over the paired folds, and b - a per paired fold
  // (mean, sample sd, count of finite differences).
  struct Metric {
    std::string name;
    double mean_a = 0, mean_b = 0;
    FoldedMetric difference;
    int higher = 0, lower = 0;  // paired folds where b is above / below a
  };
  std::vector<Metric> metrics;
  // b - a on the pooled out-of-fold predictions of the same cells, with the paired bootstrap
  // over patients (when both summaries have them: AddOutOfFold).
  std::optional<evaluation::MetricIntervals> pooled_difference;
};

// PairKFolds pairs `b` with `a` (same k and data fingerprint, else FailedPrecondition saying which
// differs), reading each present fold's split/valid.txt from its run directory.
absl::StatusOr<PairedKFolds> PairKFolds(const KFoldSummary& a, const KFoldSummary& b);

// PairAll pairs every two of `summaries` with the same k and data: the experiment whose first run
// comes later in `runs` (the order a user named them in) against the earlier one.
std::vector<PairedKFolds> PairAll(const std::vector<KFoldSummary>& summaries,
                                  const std::vector<LoadedRun>& runs);

// TCritical95 returns the two-sided 5 % critical value of Student's t with `df` degrees of freedom
// (the table's three decimals for df <= 10, beyond it the Cornish-Fisher expansion to 1/df^3,
// within 0.001); NaN for df < 1.
double TCritical95(int df);

// PairedTable: one row per metric: mean of a, of b, b - a (mean +- sd), t (df), whether |t| is
// beyond the 5 % critical value, folds where b is higher / lower.
base::TextTable PairedTable(const PairedKFolds& paired);

// PairedText: a line naming the experiments and the paired folds, the table, the unpaired folds.
std::string PairedText(const PairedKFolds& paired);

// MeanEpochSeconds returns the run's seconds per epoch over all its stages (each stage's mean
// weighted by its epochs), NaN before the first epoch.
double MeanEpochSeconds(const RunInfo& info);

// TrainingSeconds returns the seconds the run's epochs took (training, PreciseBN and validation;
// not loading the data, nor the final evaluation), NaN before the first epoch.
double TrainingSeconds(const RunInfo& info);

// Folded computes mean, sample standard deviation and count of the finite values.
FoldedMetric Folded(std::string name, std::vector<double> values);

}  // namespace malaria::experiments

#endif  // MALARIA_EXPERIMENTS_STORE_KFOLD_H_
