// Writes hand-made runs (tools/dashboard/fixture.h) into a tracker root: a few experiments with
// known values, pictures, two 3-fold experiments on the same folds, a FAILED, a RUNNING and a DIED
// run, one whose description is a <script> tag, and one with a damaged run_info. For the
// dashboard's browser test and for trying the dashboard without training anything:
//
//   bazel run //tools:make_fixture_runs -- /tmp/fixture_runs [--count 2000]
//   bazel run //tools:make_fixture_runs -- /tmp/fixture_runs --live_epoch 7   # a run in progress
#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/files.h"
#include "base/flags.h"
#include "base/main.h"
#include "tools/dashboard/fixture.h"

namespace malaria::tools {
namespace {

absl::StatusOr<int> Main(int argc, char** argv) {
  std::vector<std::string> dirs;
  int count = 0, live_epoch = 0;
  base::FlagParser flags("make_fixture_runs DIR [--count N]",
                         "Writes hand-made runs into the tracker root DIR (created).");
  flags.Int("count", &count, "instead of the showcase, N plain runs spread over 20 experiments");
  flags.Int("live_epoch", &live_epoch,
            "only (re)write the RUNNING run live/20261201-235959 with this many epochs done");
  flags.Positional("DIR", &dirs);
  absl::StatusOr<bool> go = flags.Parse(argc, argv);
  if (!go.ok()) return go.status();
  if (!*go) return base::kExitOk;
  if (dirs.size() != 1) return absl::InvalidArgumentError("give one DIR");
  const std::string root = base::ResolveUserPath(dirs[0]);
  if (live_epoch > 0) {
    FixtureRun live;
    live.experiment = "live";
    live.run_id = "20261201-235959";
    live.status = "RUNNING";
    live.epochs = 120;
    live.epochs_done = std::min(live_epoch, live.epochs);
    live.description = "a run being written";
    return WriteFixtureRun(root, live).ok() ? base::kExitOk : base::kExitFailed;
  }
  if (count > 0) {
    for (int i = 0; i < count; ++i) {
      if (absl::Status s = WriteFixtureRun(root, ManyFixture(i)); !s.ok()) return s;
    }
    absl::PrintF("%d runs written under %s\n", count, root);
    return base::kExitOk;
  }
  std::vector<FixtureRun> runs;
  for (int i = 0; i < 3; ++i) {
    FixtureRun r;
    r.experiment = "resnet18_lr";
    r.run_id = absl::StrFormat("20261201-10%02d00", i);
    r.lr = 1e-3 * (i + 1);
    r.final_accuracy = 0.93 + 0.01 * i;
    r.user = i == 0 ? "alice" : "bob";
    r.pictures = true;
    r.evaluation = i == 0;
    r.description = absl::StrCat("learning rate ", r.lr);
    runs.push_back(r);
  }
  for (int fold = 0; fold < 3; ++fold) {
    FixtureRun r;
    r.experiment = "nih50_kfold";
    r.run_id = absl::StrFormat("20261201-11%02d00", fold);
    r.fold = fold;
    r.folds = 3;
    r.final_accuracy = 0.955 + 0.005 * fold;
    r.tflop_per_epoch = 2.5;
    r.user = "carol";
    r.pictures = true;
    runs.push_back(r);
  }
  for (int fold = 0; fold < 3; ++fold) {  // the same folds, trained longer: paired by fold
    FixtureRun r;
    r.experiment = "nih50_kfold_16ep";
    r.run_id = absl::StrFormat("20261201-11%02d30", fold);
    r.fold = fold;
    r.folds = 3;
    r.epochs = r.epochs_done = 6;
    r.final_accuracy = 0.960 + 0.005 * fold;
    r.tflop_per_epoch = 2.5;
    r.user = "carol";
    runs.push_back(r);
  }
  // A finished grid sweep (the sweep view): 4 learning rates x 2 label smoothings on folds 0 and 1
  // of 3, trial 4 the best; its config kept where run_sweep keeps it.
  const double lrs[4] = {1e-3, 3e-3, 1e-2, 3e-2};
  const char* const lr_text[4] = {"1e-3", "3e-3", "1e-2", "3e-2"};
  const double trial_accuracy[8] = {0.910, 0.905, 0.940, 0.930, 0.955, 0.945, 0.920, 0.900};
  for (int trial = 0; trial < 8; ++trial) {
    for (int fold = 0; fold < 2; ++fold) {
      FixtureRun r;
      r.experiment = absl::StrFormat("sweep_lr_smoothing-t%03d", trial);
      r.run_id = absl::StrFormat("20261202-10%02d%02d", trial, fold);
      r.fold = fold;
      r.folds = 3;
      r.lr = lrs[trial / 2];
      r.final_accuracy = trial_accuracy[trial] + 0.004 * fold;
      r.tflop_per_epoch = 0.5;
      r.user = "dave";
      r.sweep = "sweep_lr_smoothing";
      r.trial = trial;
      r.assignment = {absl::StrCat("training.stage[0].lr.max=", lr_text[trial / 2]),
                      absl::StrCat("training.loss.label_smoothing=", trial % 2 == 0 ? "0" : "0.1")};
      r.end_time = absl::StrFormat("2026-12-02T10:%02d:%02dZ", trial, 30 + fold);
      runs.push_back(r);
    }
  }
  if (absl::Status s = base::MakeDirs(base::JoinPath(root, "sweeps")); !s.ok()) return s;
  if (absl::Status s = base::WriteFileAtomically(
          base::JoinPath(root, "sweeps/sweep_lr_smoothing.pbtxt"),
          "name: \"sweep_lr_smoothing\"\n"
          "description: \"peak learning rate x label smoothing\"\n"
          "experiment: \"experiments/nih50_speedrun_kfold.pbtxt\"\n"
          "folds: [0, 1]\n"
          "axis { field: \"training.stage[0].lr.max\" values: [\"1e-3\", \"3e-3\", \"1e-2\", "
          "\"3e-2\"] }\n"
          "axis { field: \"training.loss.label_smoothing\" values: [\"0\", \"0.1\"] }\n"
          "grid {}\nobjective { metric: \"accuracy\" }\n");
      !s.ok()) {
    return s;
  }
  FixtureRun failed;
  failed.experiment = "resnet34_two_stage";
  failed.run_id = "20261201-120000";
  failed.status = "FAILED";
  failed.epochs = 8;
  failed.epochs_done = 2;
  runs.push_back(failed);
  FixtureRun hostile;
  hostile.experiment = "resnet34_two_stage";
  hostile.run_id = "20261201-130000";
  hostile.description = "<script>window.__pwned=1</script><img src=x onerror=window.__pwned=2>";
  runs.push_back(hostile);
  for (const FixtureRun& r : runs) {
    if (absl::Status s = WriteFixtureRun(root, r); !s.ok()) return s;
  }
  const std::string damaged = base::JoinPath(root, "resnet34_two_stage/20261201-140000");
  if (absl::Status s = base::MakeDirs(damaged); !s.ok()) return s;
  if (absl::Status s = base::WriteFileAtomically(damaged + "/run_info.pbtxt", "garbage {{{");
      !s.ok()) {
    return s;
  }
  absl::PrintF("%d runs written under %s\n", runs.size() + 1, root);
  return base::kExitOk;
}

}  // namespace
}  // namespace malaria::tools

int main(int argc, char** argv) { return malaria::base::RunMain(argc, argv, malaria::tools::Main); }
