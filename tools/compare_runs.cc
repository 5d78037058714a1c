// Compares runs across a team (see tools/compare.h):
//
//   bazel run //tools:compare_runs -- runs/resnet34_two_stage runs/resnet50_two_stage
//   bazel run //tools:compare_runs -- /team/runs --html /tmp/compare.html
//   bazel run //tools:compare_runs -- /team/runs --sweep speedrun_lr_smoothing
//
// With --sweep NAME, PATH is the sweep's tracker root: its trials table (run_sweep --status) comes
// first, then the comparison of the sweep's runs alone (each trial a k-fold experiment, paired by
// fold).
//
// Paths may be run directories, experiment folders or tracker roots. Exit status 2 when no run is
// readable.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/files.h"
#include "base/flags.h"
#include "base/main.h"
#include "base/text_table.h"
#include "experiments/store/tracker.h"
#include "experiments/sweep/sweep_spec.h"
#include "experiments/sweep/sweep_state.h"
#include "tools/compare.h"

namespace malaria::tools {
namespace {

absl::StatusOr<int> Main(int argc, char** argv) {
  std::vector<std::string> paths;
  std::string html, sweep;
  base::FlagParser flags("compare_runs PATH... [--html FILE] [--sweep NAME]",
                         "Compares runs: run directories, experiment folders or tracker roots.");
  flags.String("html", &html, "also write a self-contained HTML page here");
  std::vector<std::string> sweeps;  // given at most once, never empty
  flags.Strings("sweep", &sweeps, "compare this sweep's runs (PATH: its tracker root)");
  flags.PositionalPaths("PATH", &paths);
  flags.Require({"PATH"});
  absl::StatusOr<bool> go = flags.Parse(argc, argv);
  if (!go.ok()) return go.status();
  if (!*go) return base::kExitOk;
  if (!html.empty()) {
    // The page's folder is checked before any table is printed.
    absl::StatusOr<std::string> resolved = base::ResolveOutputFile("--html", html);
    if (!resolved.ok()) return resolved.status();
    html = *resolved;
  }
  if (sweeps.size() > 1) return absl::InvalidArgumentError("--sweep: give one sweep");
  if (!sweeps.empty()) {
    sweep = sweeps.front();
    if (!experiments::ValidSweepName(sweep)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--sweep: '", sweep, "' is not a sweep name (letters, digits, '.', '_', '-')"));
    }
    if (paths.size() != 1) {
      return absl::InvalidArgumentError("--sweep: give the sweep's tracker root as the one PATH");
    }
    const std::vector<experiments::LoadedRun> runs = experiments::SweepRuns(paths[0], sweep);
    absl::StatusOr<experiments::SweepRecord> record =
        experiments::ReadSweep(paths[0], sweep, runs, experiments::HostName());
    if (!record.ok()) return record.status();
    absl::PrintF(
        "%s\n%s\n",
        base::FormatTextTable(experiments::SweepTable(record->config, record->state), true),
        experiments::SweepSummary(record->config, record->state));
    if (runs.empty()) return base::kExitOk;
    paths.clear();
    for (const experiments::LoadedRun& r : runs) paths.push_back(r.dir.path());
  }
  const absl::StatusOr<Comparison> c = CollectRuns(paths);
  if (!c.ok()) return c.status();
  absl::PrintF("%s", TextReport(*c));
  if (!html.empty()) {
    if (absl::Status s = base::WriteFileAtomically(html, HtmlReport(*c)); !s.ok()) {
      return base::AfterWriting(s);
    }
    absl::PrintF("\nHTML report: %s\n", html);
  }
  return base::kExitOk;
}

}  // namespace
}  // namespace malaria::tools

int main(int argc, char** argv) { return malaria::base::RunMain(argc, argv, malaria::tools::Main); }
