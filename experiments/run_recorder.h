// What a run writes as it trains, as callbacks and functions of the runner (no LibTorch): each
// epoch's row in metrics.csv, the learning curves, the stage summary in run_info.pbtxt, and the
// learning-rate finder's curve.
//
//   RunRecorder recorder(run, &info, &table, &printer, classes, positive, dataset,
//   config.evaluation()); learner.Fit(stage, i, lrs, {&recorder});   // shows the table and records
//   every epoch RETURN_IF_ERROR(RecordLrFinder(run, "stage1", found, suggestion));
#ifndef MALARIA_EXPERIMENTS_RUN_RECORDER_H_
#define MALARIA_EXPERIMENTS_RUN_RECORDER_H_

#include <chrono>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "data/dataset.h"
#include "evaluation/evaluation_config.pb.h"
#include "experiments/store/metrics_table.h"
#include "experiments/store/run_info.pb.h"
#include "experiments/store/tracker.h"
#include "training/callback.h"
#include "training/progress.h"

namespace malaria::experiments {

// Shows each epoch (through `printer`) and records it: its row in metrics.csv (with the clinical
// metrics of its validation predictions and the run's wall time so far), learning_curves.png over
// all epochs so far, the stage's summary and the time to accuracy in run_info.pbtxt. An error
// writing any of them stops the run.
class RunRecorder : public training::Callback {
 public:
  // `started`: when this session of the run began (its earlier sessions' time is
  // info->duration_seconds()); each row's elapsed_seconds, and the time to each of
  // config.accuracy_thresholds in run_info, count from it.
  RunRecorder(const RunDirectory& run, RunInfo* info, MetricsTable* table,
              training::ProgressPrinter* printer, std::vector<std::string> classes, int positive,
              const data::Dataset& dataset, evaluation::EvaluationConfig config,
              std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now());

  absl::Status OnBatchEnd(training::FitState& state) override;
  absl::Status OnEpochEnd(training::FitState& state) override;

  // Record writes the row of `result` and everything after it, as OnEpochEnd does.
  absl::Status Record(const training::EpochResult& result);

  // DurableEpochs returns the callback to put after the checkpoint saver: from then on run_info's
  // epochs_completed counts only epochs whose checkpoint is on disk (the recorder's own write
  // counts the epoch before; this one, once the checkpoint is saved, the epoch itself). A run
  // stopped between the two (kill -9, a second Ctrl-C) says what --resume will redo.
  training::Callback* DurableEpochs();

 private:
  const RunDirectory& run_;
  RunInfo* info_;
  MetricsTable* table_;
  training::ProgressPrinter* printer_;
  std::vector<std::string> classes_;
  int positive_;
  const data::Dataset& dataset_;
  evaluation::EvaluationConfig config_;
  std::chrono::steady_clock::time_point started_;
  class Durable : public training::Callback {
   public:
    explicit Durable(RunRecorder* recorder) : recorder_(recorder) {}
    absl::Status OnEpochEnd(training::FitState& state) override;

   private:
    RunRecorder* recorder_;
  };
  Durable durable_{this};
  bool checkpoints_follow_ = false;
};

// RecordLrFinder writes the learning-rate finder's curve of stage `stage` as lr_find_<stage>.csv
// (lr, loss, smoothed_loss) and lr_find_<stage>.png, fastai style: smoothed loss against log LR,
// without the first 10 and last 5 points, the suggestion marked.
absl::Status RecordLrFinder(const RunDirectory& run, const std::string& stage,
                            const training::LrFinderResult& found, double suggestion);

}  // namespace malaria::experiments

#endif  // MALARIA_EXPERIMENTS_RUN_RECORDER_H_
