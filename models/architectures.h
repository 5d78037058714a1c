// The names of the architectures the model zoo builds, without LibTorch, for config validation.
//
//   if (!IsKnownArchitecture(config.architecture())) { ... KnownArchitecturesList() ... }
#ifndef MALARIA_MODELS_ARCHITECTURES_H_
#define MALARIA_MODELS_ARCHITECTURES_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace malaria::models {

// The layer groups of every classifier in the zoo (fastai's split of a ResNet learner): [stem,
// layer1, layer2], [layer3, layer4], [head]. Learning-rate slices are spread over them and
// freeze_to counts them.
inline constexpr int kNumLayerGroups = 3;

// The BasicBlock ResNet whose stages model.shape gives (model_config.proto).
inline constexpr char kShapedResNet[] = "resnet";

// KnownArchitectures returns the architecture names in the zoo: resnet18 ... resnet152, resnet.
const std::vector<std::string>& KnownArchitectures();

// IsKnownArchitecture reports whether `name` is one of KnownArchitectures().
bool IsKnownArchitecture(absl::string_view name);

// KnownArchitecturesList returns the names joined with ", ", for error messages.
std::string KnownArchitecturesList();

// FeatureChannels returns the channels of the body's last feature map (512 for resnet18/34, 2048
// for the Bottleneck ResNets), or 0 for an unknown name or "resnet" (its shape decides).
int FeatureChannels(absl::string_view name);

}  // namespace malaria::models

#endif  // MALARIA_MODELS_ARCHITECTURES_H_
