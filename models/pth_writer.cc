#include "models/pth_writer.h"

#include <torch/serialize.h>

#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "base/files.h"

namespace malaria::models {

NamedTensors StateDict(const torch::nn::Module& module) {
  NamedTensors out;
  for (const auto& item : module.named_modules(/*name_prefix=*/"", /*include_self=*/true)) {
    const std::string prefix = item.key().empty() ? "" : item.key() + ".";
    for (const auto& p : item.value()->named_parameters(/*recurse=*/false)) {
      out.emplace_back(prefix + p.key(), p.value());
    }
    for (const auto& b : item.value()->named_buffers(/*recurse=*/false)) {
      out.emplace_back(prefix + b.key(), b.value());
    }
  }
  return out;
}

absl::Status WriteStateDict(const std::string& path, const NamedTensors& tensors) {
  c10::Dict<std::string, at::Tensor> dict;
  std::set<std::string> seen;
  for (const auto& [name, tensor] : tensors) {
    if (name.empty() || !seen.insert(name).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "writing ", path, ": the state dict has an empty or repeated name '", name, "'"));
    }
    dict.insert(name, tensor.detach().to(torch::kCPU).contiguous().clone());
  }
  std::vector<char> bytes;
  try {
    bytes = torch::pickle_save(c10::IValue(dict));
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("writing ", path, ": ", e.what_without_backtrace()));
  }
  return base::WriteFileAtomically(path, absl::string_view(bytes.data(), bytes.size()));
}

}  // namespace malaria::models
