// What the sweep state's tests share: a four-seed sweep config, trial runs as the runner records
// them, and the state read from them. Test-only.
#ifndef MALARIA_EXPERIMENTS_SWEEP_SWEEP_TEST_UTIL_H_
#define MALARIA_EXPERIMENTS_SWEEP_SWEEP_TEST_UTIL_H_

#include <string>
#include <vector>

#include "experiments/store/run_reader.h"
#include "experiments/sweep/sweep_spec.h"
#include "experiments/sweep/sweep_state.h"
#include "gtest/gtest.h"

namespace malaria::experiments::sweep_testing {

// The sweep "s" of experiment x.pbtxt over seeds 1-4, with `extra` (text-format SweepConfig
// fields) added.
inline SweepConfig Sweep(const std::string& extra) {
  absl::StatusOr<SweepConfig> s = ParseSweepConfig(std::string(R"pb(
                                                     name: "s"
                                                     experiment: "x.pbtxt"
                                                     axis {
                                                       field: "seed"
                                                       values: [ "1", "2", "3", "4" ]
                                                     }
                                                   )pb") +
                                                       extra,
                                                   "test");
  EXPECT_TRUE(s.ok()) << s.status();
  return *s;
}

// A run of `trial` on `fold` as the runner records it, with its final accuracy.
inline LoadedRun TrialRun(const SweepConfig& sweep, const SweepState& plan, int trial, int fold,
                          RunInfo::Status status, double accuracy,
                          const std::string& id = "20261205-0600", int k = 2) {
  const std::string name = TrialExperimentName(sweep, trial);
  LoadedRun run{RunDirectory::Open("/runs/" + name + "/" + id + "-" + std::to_string(fold))};
  run.info.set_experiment(name);
  run.info.set_run_id(id + "-" + std::to_string(fold));
  run.info.set_status(status);
  run.info.set_host("elsewhere");
  run.info.set_training_tflop(1.5);
  run.info.mutable_dataset()->set_fingerprint("abc");
  StageSummary* stage = run.info.add_stage();
  stage->set_epochs_completed(2);
  stage->set_mean_epoch_seconds(90);
  *run.info.mutable_sweep() = SweepTrialTag(sweep, plan.trials[trial], fold);
  run.config.set_name(name);
  run.config.mutable_data()->mutable_split()->mutable_patient_kfold()->set_folds(k);
  run.config.mutable_data()->mutable_split()->mutable_patient_kfold()->set_fold(fold);
  run.has_final_report = status == RunInfo::COMPLETED;
  run.final_report.set_accuracy(accuracy);
  return run;
}

inline SweepState State(const SweepConfig& s, const std::vector<LoadedRun>& runs,
                        bool retry = false, int k = 2) {
  absl::StatusOr<SweepState> state = ReadSweepState(s, k, runs, "here", retry);
  EXPECT_TRUE(state.ok()) << state.status();
  return state.ok() ? *state : SweepState();
}

}  // namespace malaria::experiments::sweep_testing

#endif  // MALARIA_EXPERIMENTS_SWEEP_SWEEP_TEST_UTIL_H_
