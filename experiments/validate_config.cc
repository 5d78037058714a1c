// Checks experiment configs without running them: parse (unknown fields are errors with line and
// column), apply overrides, semantic validation. Each experiment target has a test that runs this.
//
//   bazel run //experiments:validate_config -- experiments/resnet34_two_stage.pbtxt [--set
//   a.b=c]...
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "base/files.h"
#include "base/flags.h"
#include "base/main.h"
#include "experiments/config.h"

namespace malaria::experiments {
namespace {

absl::StatusOr<int> Main(int argc, char** argv) {
  std::vector<std::string> files, overrides;
  base::FlagParser flags("validate_config FILE.pbtxt... [--set field.path=value]...",
                         "Checks experiment configs without running them.");
  flags.Strings("set", &overrides, "override one config field first");
  flags.PositionalPaths("FILE.pbtxt", &files);
  flags.Require({"FILE.pbtxt"});
  absl::StatusOr<bool> go = flags.Parse(argc, argv);
  if (!go.ok()) return go.status();
  if (!*go) return base::kExitOk;
  int failures = 0;
  for (const std::string& file : files) {
    absl::StatusOr<ExperimentConfig> config = LoadExperimentConfig(file);
    absl::Status status = config.status();
    for (size_t i = 0; status.ok() && i < overrides.size(); ++i) {
      status = ApplyOverride(overrides[i], &*config);
    }
    if (status.ok()) {
      FillDefaults(&*config);
      status = ValidateExperimentConfig(*config);
    }
    if (!status.ok()) {
      absl::FPrintF(stderr, "%s: INVALID\n%s\n", file, status.message());
      ++failures;
      continue;
    }
    std::vector<std::string> stages;
    for (const auto& s : config->training().stage()) {
      stages.push_back(absl::StrFormat("%s (%d epochs)", s.name(), s.epochs()));
    }
    absl::FPrintF(stdout, "%s: OK: experiment %s, %s, stages %s\n", file, config->name(),
                  config->model().architecture(), absl::StrJoin(stages, ", "));
  }
  return failures == 0 ? base::kExitOk : base::kExitFailed;
}

}  // namespace
}  // namespace malaria::experiments

int main(int argc, char** argv) {
  return malaria::base::RunMain(argc, argv, malaria::experiments::Main);
}
