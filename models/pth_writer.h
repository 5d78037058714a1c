// Writing PyTorch `.pth` state_dict files: the way out of the platform that pth_reader.h is the way
// in. A trained network's parameters and buffers under the names PyTorch's state_dict() gives them
// (the body's are torchvision's own: conv1.weight, layer1.0.bn1.running_mean, ...), written as
// torch.save(state_dict) writes them, so Python's torch.load reads a dict of tensors and
// ReadPthFile reads it back.
//
//   RETURN_IF_ERROR(WriteStateDict("/tmp/model.pth", StateDict(*model)));
#ifndef MALARIA_MODELS_PTH_WRITER_H_
#define MALARIA_MODELS_PTH_WRITER_H_

#include <torch/nn/module.h>
#include <torch/types.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace malaria::models {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

// StateDict returns `module`'s parameters and buffers as PyTorch's Module.state_dict() orders and
// names them: module by module (depth first, in registration order), each module's parameters,
// then its buffers, keyed "<module path>.<name>". The tensors are the module's own (not copies).
NamedTensors StateDict(const torch::nn::Module& module);

// WriteStateDict writes `tensors` (in their order) to `path` as torch.save(state_dict) does: a zip
// archive (torch::pickle_save of a dict of CPU contiguous copies) that torch.load reads as a dict
// of tensors. Written through a temporary file and renamed: on an error nothing is left at `path`.
// InvalidArgument for a repeated or empty name.
absl::Status WriteStateDict(const std::string& path, const NamedTensors& tensors);

}  // namespace malaria::models

#endif  // MALARIA_MODELS_PTH_WRITER_H_
