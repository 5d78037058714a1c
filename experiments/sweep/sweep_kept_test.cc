// Reading sweeps back: the kept record under the tracker root, the sweep's trial folders, and the
// run cache that reads only what changed (sweep_kept.cc, sweep_state.cc's SweepRunCache).
#include <string>

#include "base/files.h"
#include "base/test_util.h"
#include "experiments/config.h"
#include "experiments/store/tracker.h"
#include "experiments/sweep/sweep_spec.h"
#include "experiments/sweep/sweep_state.h"
#include "experiments/sweep/sweep_test_util.h"
#include "gtest/gtest.h"

namespace malaria::experiments {
namespace {

using sweep_testing::State;
using sweep_testing::Sweep;
using sweep_testing::TrialRun;

// The tools that show sweeps read the kept record: a sweep never run has the kept experiment's
// folds (not zero, which would make every trial look done); a kept plan too large to list is
// named, quickly, without listing it; a file kept by an earlier version (the bare config) reads.
TEST(SweepKeptTest, KeptSweepsAreReadAsKept) {
  const std::string root = base::TestDir("kept_root");
  ASSERT_TRUE(base::MakeDirs(base::JoinPath(root, "sweeps")).ok());
  KeptSweep kept;
  *kept.mutable_config() = Sweep("grid {}");
  kept.set_experiment_folds(3);
  ASSERT_TRUE(base::WriteFileAtomically(KeptSweepConfigPath(root, "s"), ToText(kept)).ok());
  absl::StatusOr<SweepRecord> never = ReadSweep(root, "s", {}, "here");
  ASSERT_TRUE(never.ok()) << never.status();
  EXPECT_EQ(never->state.trials.size(), 4u);
  EXPECT_EQ(never->state.trials[0].folds.size(), 3u);
  EXPECT_FALSE(never->state.finished);
  EXPECT_NE(SweepSummary(never->config, never->state).find("0 of 4 planned trial(s) done"),
            std::string::npos);

  ASSERT_TRUE(base::WriteFileAtomically(KeptSweepConfigPath(root, "huge"), R"pb(
                config {
                  name: "huge"
                  experiment: "x.pbtxt"
                  axis {
                    field: "seed"
                    range { min: 1 max: 1e9 points: 10000 }
                  }
                  axis {
                    field: "data.batch_size"
                    range { min: 1 max: 1e9 points: 10000 }
                  }
                  grid {}
                }
                experiment_folds: 5
              )pb")
                  .ok());
  const absl::StatusOr<SweepRecord> huge = ReadSweep(root, "huge", {}, "here");
  ASSERT_FALSE(huge.ok());
  EXPECT_NE(huge.status().message().find("the grid has 1e+08 combinations"), std::string::npos)
      << huge.status();

  ASSERT_TRUE(base::WriteFileAtomically(KeptSweepConfigPath(root, "old"),
                                        "name: \"old\" experiment: \"x.pbtxt\" axis { field: "
                                        "\"seed\" values: [\"1\"] } folds: [0, 1]\n")
                  .ok());
  absl::StatusOr<SweepRecord> old = ReadSweep(root, "old", {}, "here");
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_EQ(old->state.trials[0].folds.size(), 2u);
}

TEST(SweepKeptTest, ExperimentChangesNameTheFields) {
  ExperimentConfig a, b;
  a.set_seed(3);
  a.mutable_data()->set_image_size(32);
  b = a;
  EXPECT_EQ(ExperimentChanges(a, b), "");
  b.set_seed(4);
  b.mutable_data()->set_image_size(40);
  const std::string changes = ExperimentChanges(a, b);
  EXPECT_NE(changes.find("modified: seed: 3 -> 4"), std::string::npos) << changes;
  EXPECT_NE(changes.find("modified: data.image_size: 32 -> 40"), std::string::npos) << changes;
  EXPECT_NE(ExperimentChanges(a, b, 1).find("  ... and 1 more"), std::string::npos);
}

TEST(SweepKeptTest, TrialFoldersAreTheSweepsNameAndDigits) {
  EXPECT_TRUE(IsTrialFolder("s-t000", "s"));
  EXPECT_TRUE(IsTrialFolder("s-t1234", "s"));
  EXPECT_FALSE(IsTrialFolder("s-t", "s"));
  EXPECT_FALSE(IsTrialFolder("s-t00a", "s"));
  EXPECT_FALSE(IsTrialFolder("s2-t000", "s"));
  EXPECT_FALSE(IsTrialFolder("other", "s"));
}

// Writes a completed trial run of sweep `sweep_name` into experiment folder `folder` under `root`
// (with `warning` in its record when not empty).
void WriteTrialRun(const std::string& root, const std::string& folder,
                   const std::string& sweep_name, const std::string& warning = "") {
  const SweepConfig sweep = Sweep("");
  LoadedRun run = TrialRun(sweep, State(sweep, {}), 1, 0, RunInfo::COMPLETED, 0.9);
  run.info.mutable_sweep()->set_sweep(sweep_name);
  if (!warning.empty()) run.info.add_warnings(warning);
  const RunDirectory dir = RunDirectory::Open(base::JoinPath(root, folder + "/20261205-0600"));
  ASSERT_TRUE(base::MakeDirs(dir.path()).ok());
  ASSERT_TRUE(WriteRunInfo(dir, run.info).ok());
  ASSERT_TRUE(
      base::WriteFileAtomically(dir.File("config.pbtxt"), "name: \"" + folder + "\"\n").ok());
}

// SweepRuns reads the sweep's trial folders only: a run tagged with the sweep elsewhere under the
// root (copied by hand, say) and another sweep's trials are not read.
TEST(SweepKeptTest, SweepRunsReadsOnlyTheSweepsTrialFolders) {
  const std::string root = base::TestDir("sweep_runs_root");
  WriteTrialRun(root, "s-t001", "s");
  WriteTrialRun(root, "s-t002", "s");
  WriteTrialRun(root, "elsewhere", "s");
  WriteTrialRun(root, "s2-t001", "s2");
  const std::vector<LoadedRun> runs = SweepRuns(root, "s");
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_NE(runs[0].dir.path().find("s-t001"), std::string::npos);
  EXPECT_NE(runs[1].dir.path().find("s-t002"), std::string::npos);
  EXPECT_EQ(SweepRuns(root, "s2").size(), 1u);
}

// A sweep process reads its runs before every trial fold: the cache reads a run directory again
// only when its run_info.pbtxt changed, and new runs as they come.
TEST(SweepKeptTest, TheRunCacheReadsOnlyWhatChanged) {
  const std::string root = base::TestDir("sweep_run_cache");
  WriteTrialRun(root, "s-t001", "s");
  WriteTrialRun(root, "s-t002", "s");
  SweepRunCache cache;
  EXPECT_EQ(cache.Refresh(root, "s").size(), 2u);
  EXPECT_EQ(cache.loads(), 2);
  EXPECT_EQ(cache.Refresh(root, "s").size(), 2u);
  EXPECT_EQ(cache.loads(), 2);  // nothing changed, nothing read
  WriteTrialRun(root, "s-t003", "s");
  WriteTrialRun(root, "s-t001", "s", "rewritten");  // another size
  const std::vector<LoadedRun> runs = cache.Refresh(root, "s");
  EXPECT_EQ(cache.loads(), 4);
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[0].info.warnings_size(), 1);  // the rewritten record, as a full read gives it
  EXPECT_EQ(ToText(runs[0].info), ToText(SweepRuns(root, "s")[0].info));
  // Kept runs pass from one Refresh to the next whole, however many times.
  const std::vector<LoadedRun> full = SweepRuns(root, "s");
  for (int i = 0; i < 2; ++i) {
    const std::vector<LoadedRun>& again = cache.Refresh(root, "s");
    EXPECT_EQ(cache.loads(), 4);
    ASSERT_EQ(again.size(), full.size());
    for (size_t r = 0; r < full.size(); ++r) {
      EXPECT_EQ(again[r].dir.path(), full[r].dir.path());
      EXPECT_EQ(ToText(again[r].info), ToText(full[r].info));
    }
  }
}

}  // namespace
}  // namespace malaria::experiments
