// Hand-made run directories for the dashboard's tests, load test, browser test and benchmark:
// the records a run writes (config.pbtxt, run_info.pbtxt, metrics.csv, metrics.pbtxt and, on
// request, pictures drawn like a run's), with known values, in a tracker root. Test-only.
//
//   FixtureRun run;
//   run.experiment = "resnet18_lr"; run.run_id = "20261201-120000"; run.lr = 3e-3;
//   RETURN_IF_ERROR(WriteFixtureRun("/tmp/root", run));
#ifndef MALARIA_TOOLS_DASHBOARD_FIXTURE_H_
#define MALARIA_TOOLS_DASHBOARD_FIXTURE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace malaria::tools {

struct FixtureRun {
  std::string experiment = "fixture";
  std::string run_id = "20261201-120000";
  std::string status = "COMPLETED";  // RunInfo status name
  std::string description = "a hand-made run";
  std::string user = "alice";
  std::string host = "lab1";
  long pid = 0;                  // recorded for RUNNING runs
  int epochs = 4;                // config epochs (one stage named "train")
  int epochs_done = 4;           // metrics.csv rows
  double lr = 3e-3;              // training.stage[0].max_lr: differs between runs
  double final_accuracy = 0.95;  // the curve rises to it
  int fold = -1;                 // >= 0: a patient k-fold run of `folds` (with split/valid.txt)
  int folds = 5;
  double tflop_per_epoch = 0;  // > 0: run_info's training_tflop is epochs_done times this
  bool pictures = false;       // learning_curves.png, roc.png, confusion_matrix.png (drawn)
  bool evaluation = false;     // one later evaluations/<time>/ folder
  // A sweep's trial (RunInfo.sweep) when `sweep` is set: its trial, rung and assignment ("field=
  // value"); the run records `end_time` too.
  std::string sweep;
  int trial = 0;
  int rung = 0;
  std::vector<std::string> assignment;
  std::string end_time;
};

// RunningFixture is a RUNNING run of `epochs` with `epochs_done` rows written so far (host "lab1";
// set host and pid to make it this machine's).
FixtureRun RunningFixture(const std::string& experiment, const std::string& run_id, int epochs,
                          int epochs_done);

// ManyFixture is run `i` of a crowd (the benchmark's, make_fixture_runs --count): spread over 20
// experiments (experiment_00 ..), ids 20261201-000000 on, learning rates and accuracies that
// differ between runs, users alice and bob.
FixtureRun ManyFixture(int i);

// WriteFixtureRun writes the run directory <root>/<experiment>/<run_id> (created, or overwritten
// file by file). A COMPLETED run gets metrics.pbtxt; others do not.
absl::Status WriteFixtureRun(const std::string& root, const FixtureRun& run);

}  // namespace malaria::tools

#endif  // MALARIA_TOOLS_DASHBOARD_FIXTURE_H_
