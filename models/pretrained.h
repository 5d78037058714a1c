// Loading torchvision's published ImageNet weights (.pth state_dict files) into the model zoo.
//
//   ResNet body = MakeResNet("resnet34", /*num_classes=*/0);
//   RETURN_IF_ERROR(LoadTorchvisionWeights("resnet34-b627a593.pth", *body));  // fc.* dropped
//
// Loading is strict: every parameter and buffer of the module must be in the file with the same
// shape, and every tensor of the file must be used, except the classifier (`fc.*`) when the module
// has none (a body gets a new head) and BatchNorm's `num_batches_tracked` counters, which older
// files lack (PyTorch fills them with 0 too). A mismatch lists every missing key, unexpected key
// and shape mismatch.
#ifndef MALARIA_MODELS_PRETRAINED_H_
#define MALARIA_MODELS_PRETRAINED_H_

#include <torch/nn/module.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "models/pth_reader.h"

namespace malaria::models {

struct LoadOptions {
  bool strict = true;
  // Keys of the file starting with one of these are not loaded and not reported.
  std::vector<std::string> skip_prefixes;
};

// LoadStateDict copies the tensors of `file` into the parameters and buffers of `module` with the
// same names (converting dtypes, e.g. float16 files into float32 models). `source` names the file
// in errors. FailedPrecondition listing every mismatch when strict loading fails; the module is
// unchanged then.
absl::Status LoadStateDict(const PthFile& file, torch::nn::Module& module,
                           const LoadOptions& options, const std::string& source);

// LoadTorchvisionWeights reads a torchvision .pth file and loads it strictly into `module` (a
// ResNet, with or without its fc layer; fc.* is skipped when the module has no `fc`).
absl::Status LoadTorchvisionWeights(const std::string& path, torch::nn::Module& module);

}  // namespace malaria::models

#endif  // MALARIA_MODELS_PRETRAINED_H_
