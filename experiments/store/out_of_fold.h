// The out-of-fold predictions of a patient k-fold experiment: each fold's final model predicted
// the cells of the patients it never saw, so pooled over the folds every cell of every patient is
// predicted once, by a model that did not train on it. Judged as one set, with intervals by
// patient, they say more about new patients than the folds' mean +- sd (and they are what rules
// such as a decision threshold are fitted on).
//
//   std::vector<KFoldSummary> summaries = SummarizeKFolds(runs);
//   AddOutOfFold(&summaries, runs);           // reads each fold's predictions.csv
//   FitOutOfFoldRules(&*summaries[0].pooled);  // the rules, for what writes or prints them
//   std::cout << KFoldText(summaries[0]);      // the pooled line first, then the folds
//   RETURN_IF_ERROR(WriteOutOfFold(root + "/out_of_fold/" + experiment, *summaries[0].pooled));
//
// KeepOutOfFold does all of that and also writes model.pbtxt (kfold_model.proto): the folder is
// then the job's model for new patients, its fold models averaged and decided by the rules fitted
// on every patient's out-of-fold predictions, which evaluate and classify take as a run
// (ReadKFoldModel).
#ifndef MALARIA_EXPERIMENTS_STORE_OUT_OF_FOLD_H_
#define MALARIA_EXPERIMENTS_STORE_OUT_OF_FOLD_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "evaluation/calibration.h"
#include "experiments/store/kfold.h"
#include "experiments/store/kfold_model.pb.h"

namespace malaria::experiments {

// PoolOutOfFold reads the final predictions (predictions.csv) of each of `summary`'s fold runs
// (among `runs`, those SummarizeKFolds read) and pools them, with each cell's patient from its
// file name, and judges the pool (the first run's evaluation config: decision at the arg-max, its
// patient rule and bootstrap). The rules are not fitted (FitOutOfFoldRules). FailedPrecondition
// when a fold is missing, a run has no predictions.csv, the folds' classes differ, or a cell is
// in two folds.
absl::StatusOr<PooledOutOfFold> PoolOutOfFold(const KFoldSummary& summary,
                                              const std::vector<LoadedRun>& runs);

// AddOutOfFold pools each summary, setting `pooled`, or `pooled_note` with the reason it could
// not. PairKFolds then adds the paired difference of two pools (kfold.h).
void AddOutOfFold(std::vector<KFoldSummary>* summaries, const std::vector<LoadedRun>& runs);

// FitOutOfFoldRules fits `pooled->calibration` on every patient's out-of-fold predictions
// (evaluation::Calibrate with the folds' evaluation config as policy).
void FitOutOfFoldRules(PooledOutOfFold* pooled);

// The rules fitted on out-of-fold predictions, checked where they were not fitted: for each fold,
// the rules are fitted on the other folds' out-of-fold predictions and applied to its cells and
// patients; pooled over the folds, against 0.5 and the fixed diagnosis rule on the same cells.
struct NestedRulesCheck {
  int folds = 0;
  evaluation::MetricIntervals threshold_gain;  // accuracy at the fitted threshold minus at 0.5
  int thresholds_fitted = 0;                   // folds whose rules replaced 0.5
  int patients = 0, infected = 0;
  int fitted_right = 0, fitted_caught = 0, fitted_cleared = 0;  // the fitted diagnosis rule
  int fixed_right = 0, fixed_caught = 0, fixed_cleared = 0;     // the fixed one
};

// CheckRulesNested makes that check (FailedPrecondition for fewer than 3 folds).
absl::StatusOr<NestedRulesCheck> CheckRulesNested(const PooledOutOfFold& pooled,
                                                  const evaluation::CalibrationPolicy& policy);

// NestedRulesText says what the check found, for the terminal.
std::string NestedRulesText(const NestedRulesCheck& check);

// NewGroupText: the prediction interval of the pooled metrics on a new group of `group` patients
// like these (evaluation::PatientBootstrap::NewGroupIntervals): what a user should expect on the
// next `group` patients, wider than the interval of the estimate itself.
std::string NewGroupText(const PooledOutOfFold& pooled, int group);

// OutOfFoldRulesText (after FitOutOfFoldRules): the rules fitted on every patient's out-of-fold
// predictions (what was kept and why), then their nested check.
std::string OutOfFoldRulesText(const PooledOutOfFold& pooled);

// WriteOutOfFold writes `pooled` into `folder` (created when missing): predictions.csv (the
// folds' rows, as a run writes them), metrics.pbtxt (the pooled report with its intervals),
// patients.csv and, once FitOutOfFoldRules has run, calibration.pbtxt (the rules fitted on every
// patient's predictions).
absl::Status WriteOutOfFold(const std::string& folder, const PooledOutOfFold& pooled);

// OutOfFoldFolder returns where a k-fold experiment's pool is kept: beside the experiments, not
// among the runs, <root>/out_of_fold/<experiment>/ for `experiment_folder` <root>/<experiment>.
std::string OutOfFoldFolder(const std::string& experiment_folder, const std::string& experiment);

// KFoldModelOf returns the model.pbtxt of `summary` (pooled) kept in `folder`: its experiment,
// folds, fold runs (relative to `folder`), data and out-of-fold estimate.
KFoldModel KFoldModelOf(const KFoldSummary& summary, const std::string& folder);

// KeepOutOfFold fits the pool's rules (FitOutOfFoldRules), writes it all to OutOfFoldFolder
// (WriteOutOfFold) with model.pbtxt (KFoldModelOf), and returns what a user reads of it: the
// prediction interval for a new group of `new_patients` (0: as many as pooled), the rules with
// their nested check, where it went and how to use the model. An error names what could not be
// written. `summary` must be pooled (AddOutOfFold).
absl::StatusOr<std::string> KeepOutOfFold(KFoldSummary* summary,
                                          const std::string& experiment_folder,
                                          int new_patients = 0);

// A k-fold job's model as kept by KeepOutOfFold, read back.
struct KeptKFoldModel {
  std::string folder;
  KFoldModel model;
  std::vector<std::string> run_dirs;    // the fold runs, resolved from `folder`
  evaluation::Calibration calibration;  // calibration.pbtxt: the rules fitted out of fold
};

// IsKFoldModel says whether `folder` holds a k-fold job's model (a model.pbtxt).
bool IsKFoldModel(const std::string& folder);

// ReadKFoldModel reads the model kept in `folder`. An error names the file that is missing or
// unreadable (model.pbtxt, calibration.pbtxt) or the field that is wrong (no runs, a fold run
// that is not a run directory).
absl::StatusOr<KeptKFoldModel> ReadKFoldModel(const std::string& folder);

}  // namespace malaria::experiments

#endif  // MALARIA_EXPERIMENTS_STORE_OUT_OF_FOLD_H_
