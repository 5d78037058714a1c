// What the user sees while a stage trains: fastai's per-epoch table, and a progress line within
// each epoch. On a terminal the progress line redraws in place; otherwise (CI, log files) a plain
// line is printed every `interval_seconds`.
//
//   ProgressPrinter printer(stdout);
//   printer.StageHeader("stage1: 8 epochs, body frozen, lr 3e-3");
//   learner.Fit(stage, 0, lrs, {&printer});
//
//   epoch  train_loss  valid_loss  accuracy  error_rate  time
//   1      0.412345    0.301234    0.912000  0.088000    00:12
#ifndef MALARIA_TRAINING_PROGRESS_H_
#define MALARIA_TRAINING_PROGRESS_H_

#include <cstdio>
#include <string>

#include "absl/status/status.h"
#include "training/callback.h"

namespace malaria::training {

class ProgressPrinter : public Callback {
 public:
  // `is_terminal` < 0 asks isatty on `out`.
  explicit ProgressPrinter(std::FILE* out, int is_terminal = -1, double interval_seconds = 30);

  // StageHeader prints a title and the table's header.
  void StageHeader(const std::string& title);

  // OnBatchEnd shows the progress line; OnEpochEnd prints the epoch's row (state.epoch_result).
  absl::Status OnBatchEnd(FitState& state) override;
  absl::Status OnEpochEnd(FitState& state) override;
  // PrintRow prints the row of `result`, ending the progress line.
  void PrintRow(const EpochResult& result);

  // FormatRow returns one table row (no newline).
  static std::string FormatRow(const EpochResult& result);
  // FormatDuration returns mm:ss (or h:mm:ss).
  static std::string FormatDuration(double seconds);

 private:
  std::FILE* out_;
  bool terminal_;
  double interval_;
  double last_printed_ = -1;
  int last_epoch_ = -1;
  bool line_open_ = false;
};

}  // namespace malaria::training

#endif  // MALARIA_TRAINING_PROGRESS_H_
