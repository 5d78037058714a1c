// Checks sweep configs without running anything: each must parse and every trial's experiment
// config (on every fold and rung) must pass validation. Prints the number of candidates.
//
//   validate_sweep [--workspace DIR] experiments/sweep/speedrun_lr_smoothing.pbtxt
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/files.h"
#include "base/flags.h"
#include "base/main.h"
#include "experiments/sweep/sweep_spec.h"

namespace malaria::experiments {
namespace {

absl::StatusOr<int> Main(int argc, char** argv) {
  std::string workspace;
  std::vector<std::string> files;
  base::FlagParser flags("validate_sweep [--workspace DIR] SWEEP.pbtxt...",
                         "Checks sweep configs: they parse and every trial's config is valid.");
  flags.String("workspace", &workspace,
               "where the sweeps' experiment paths are relative to (default: the workspace)");
  flags.Positional("SWEEP.pbtxt", &files);
  absl::StatusOr<bool> go = flags.Parse(argc, argv);
  if (!go.ok()) return go.status();
  if (!*go) return base::kExitOk;
  if (files.empty()) return absl::InvalidArgumentError("no sweep config given");
  if (workspace.empty()) workspace = base::WorkspaceDir();
  for (const std::string& file : files) {
    absl::StatusOr<SweepConfig> sweep = LoadSweepConfig(base::ResolveUserPath(file));
    if (!sweep.ok()) return sweep.status();
    if (absl::Status s = ValidateSweep(*sweep, workspace); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat(file, ": ", s.message()));
    }
    absl::PrintF("%s: sweep %s, %d candidate(s), valid\n", file, sweep->name(),
                 SweepCandidates(*sweep).size());
  }
  return base::kExitOk;
}

}  // namespace
}  // namespace malaria::experiments

int main(int argc, char** argv) {
  return malaria::base::RunMain(argc, argv, malaria::experiments::Main);
}
