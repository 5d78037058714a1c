// A patient-level k-fold experiment read back as one result: each fold's latest completed run and
// the mean and standard deviation over the folds of what their final models scored. What the
// _kfold targets print after running every fold, and what compare_runs shows for such runs.
//
//   std::vector<KFoldSummary> folds = SummarizeKFolds(runs);   // runs: LoadRun of each directory
//   std::cout << KFoldText(folds[0]);
//   // accuracy 0.9512 +- 0.0061 over 5 folds ... (fold 3 missing: no COMPLETED run)
#ifndef MALARIA_EXPERIMENTS_KFOLD_H_
#define MALARIA_EXPERIMENTS_KFOLD_H_

#include <string>
#include <vector>

#include "base/text_table.h"
#include "experiments/run_reader.h"

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

struct KFoldSummary {
  std::string experiment;
  int folds = 0;                  // k
  std::string fingerprint;        // of the data
  std::vector<int> present;       // folds with a COMPLETED run, ascending
  std::vector<int> missing;       // folds without one
  std::vector<std::string> runs;  // the run directory used for each present fold
  std::vector<FoldedMetric> metrics;
};

// SummarizeKFolds groups the patient_kfold runs among `runs` by experiment, k and data
// fingerprint, takes each fold's latest COMPLETED run (by run id), and folds these metrics of
// their final models over the folds: accuracy, ROC AUC, sensitivity, specificity, expected
// calibration error, patient-level diagnosis accuracy (the config's fixed fraction), then with the
// calibration fitted on the fold's validation set (in-sample; "-" for runs without one) the
// accuracy, the mean absolute parasitemia error per patient and the fitted patient rule's
// accuracy, then mean seconds per epoch and the seconds to reach each accuracy threshold recorded.
// Groups come sorted by experiment.
std::vector<KFoldSummary> SummarizeKFolds(const std::vector<LoadedRun>& runs);

// KFoldTable returns the per-fold rows ("fold", then one column per metric; four decimals, whole
// seconds for times, "-" where a fold lacks the metric) and a last row of mean +- sd.
base::TextTable KFoldTable(const KFoldSummary& summary);

// KFoldText returns a table, one row per fold and a last row of mean +- sd, and says which folds
// are missing.
std::string KFoldText(const KFoldSummary& summary);

// MeanEpochSeconds returns the run's seconds per epoch over all its stages (each stage's mean
// weighted by its epochs), NaN before the first epoch.
double MeanEpochSeconds(const RunInfo& info);

// Folded computes mean, sample standard deviation and count of the finite values.
FoldedMetric Folded(std::string name, std::vector<double> values);

}  // namespace malaria::experiments

#endif  // MALARIA_EXPERIMENTS_KFOLD_H_
