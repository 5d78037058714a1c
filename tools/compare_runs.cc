// Compares runs across a team (see tools/compare.h):
//
//   bazel run //tools:compare_runs -- runs/resnet34_two_stage runs/resnet50_two_stage
//   bazel run //tools:compare_runs -- /team/runs --html /tmp/compare.html
//
// Paths may be run directories, experiment folders or tracker roots. Exit status 2 when no run is
// readable.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "tools/compare.h"
#include "base/files.h"

int main(int argc, char** argv) {
  std::vector<std::string> paths;
  std::string html;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--html" && i + 1 < argc) {
      html = malaria::base::ResolveUserPath(argv[++i]);
    } else if (arg == "--help" || arg == "-h" || arg.rfind("--", 0) == 0) {
      absl::FPrintF(arg == "--help" || arg == "-h" ? stdout : stderr,
                    "usage: compare_runs PATH... [--html FILE]\n");
      return arg == "--help" || arg == "-h" ? 0 : 2;
    } else {
      paths.push_back(malaria::base::ResolveUserPath(arg));
    }
  }
  if (paths.empty()) {
    absl::FPrintF(stderr, "usage: compare_runs PATH... [--html FILE]\n");
    return 2;
  }
  const absl::StatusOr<malaria::tools::Comparison> c = malaria::tools::CollectRuns(paths);
  if (!c.ok()) {
    absl::FPrintF(stderr, "ERROR: %s\n", c.status().message());
    return 2;
  }
  absl::PrintF("%s", malaria::tools::TextReport(*c));
  if (!html.empty()) {
    const absl::Status s = malaria::base::WriteFileAtomically(html, malaria::tools::HtmlReport(*c));
    if (!s.ok()) {
      absl::FPrintF(stderr, "ERROR: %s\n", s.message());
      return 2;
    }
    absl::PrintF("\nHTML report: %s\n", html);
  }
  return 0;
}
