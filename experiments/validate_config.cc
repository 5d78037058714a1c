// Checks experiment configs without running them: parse (unknown fields are errors with line and
// column), apply overrides, semantic validation. Each experiment target has a test that runs this.
//
//   bazel run //experiments:validate_config -- experiments/resnet34_two_stage.pbtxt [--set
//   a.b=c]...
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "experiments/config.h"
#include "base/files.h"

int main(int argc, char** argv) {
  std::vector<std::string> files, overrides;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--set" && i + 1 < argc) {
      overrides.push_back(argv[++i]);
    } else if (arg.rfind("--set=", 0) == 0) {
      overrides.push_back(arg.substr(6));
    } else {
      files.push_back(malaria::base::ResolveUserPath(arg));
    }
  }
  if (files.empty()) {
    absl::FPrintF(stderr, "usage: validate_config FILE.pbtxt... [--set field.path=value]...\n");
    return 2;
  }
  int failures = 0;
  for (const std::string& file : files) {
    absl::StatusOr<malaria::experiments::ExperimentConfig> config =
        malaria::experiments::LoadExperimentConfig(file);
    absl::Status status = config.status();
    for (size_t i = 0; status.ok() && i < overrides.size(); ++i) {
      status = malaria::experiments::ApplyOverride(overrides[i], &*config);
    }
    if (status.ok()) {
      malaria::experiments::FillDefaults(&*config);
      status = malaria::experiments::ValidateExperimentConfig(*config);
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
  return failures == 0 ? 0 : 1;
}
