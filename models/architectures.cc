#include "models/architectures.h"

#include <algorithm>

#include "absl/strings/str_join.h"

namespace malaria::models {

const std::vector<std::string>& KnownArchitectures() {
  static const auto* names = new std::vector<std::string>{"resnet18",  "resnet34",  "resnet50",
                                                          "resnet101", "resnet152", kShapedResNet};
  return *names;
}

bool IsKnownArchitecture(absl::string_view name) {
  const auto& names = KnownArchitectures();
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::string KnownArchitecturesList() { return absl::StrJoin(KnownArchitectures(), ", "); }

int FeatureChannels(absl::string_view name) {
  if (name == "resnet18" || name == "resnet34") return 512;
  if (name == kShapedResNet) return 0;
  if (IsKnownArchitecture(name)) return 2048;
  return 0;
}

}  // namespace malaria::models
