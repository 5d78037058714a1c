#include "models/pretrained.h"

#include <torch/torch.h>

#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace malaria::models {
namespace {

torch::Dtype ToTorch(DType d) {
  switch (d) {
    case DType::kFloat32:
      return torch::kFloat32;
    case DType::kFloat64:
      return torch::kFloat64;
    case DType::kFloat16:
      return torch::kFloat16;
    case DType::kBFloat16:
      return torch::kBFloat16;
    case DType::kInt64:
      return torch::kInt64;
    case DType::kInt32:
      return torch::kInt32;
    case DType::kInt16:
      return torch::kInt16;
    case DType::kInt8:
      return torch::kInt8;
    case DType::kUInt8:
      return torch::kUInt8;
    case DType::kBool:
      return torch::kBool;
  }
  return torch::kFloat32;
}

std::string Shape(const std::vector<int64_t>& sizes) {
  return absl::StrCat("[", absl::StrJoin(sizes, ", "), "]");
}

// A view of the file's bytes as a tensor (no copy; valid while `file` lives).
torch::Tensor View(const PthFile& file, const TensorRecord& t) {
  const absl::string_view bytes = file.StorageBytes(t);
  void* base = const_cast<char*>(bytes.data()) + t.storage_offset * ElementSize(t.dtype);
  return torch::from_blob(base, t.sizes, t.strides, torch::TensorOptions().dtype(ToTorch(t.dtype)));
}

}  // namespace

absl::Status LoadStateDict(const PthFile& file, torch::nn::Module& module,
                           const LoadOptions& options, const std::string& source) {
  std::map<std::string, torch::Tensor> targets;
  for (const auto& p : module.named_parameters()) targets[p.key()] = p.value();
  for (const auto& b : module.named_buffers()) targets[b.key()] = b.value();

  std::vector<std::string> unexpected, mismatched, missing;
  std::map<std::string, const TensorRecord*> found;
  for (const TensorRecord& t : file.tensors) {
    bool skip = false;
    for (const std::string& prefix : options.skip_prefixes)
      skip = skip || absl::StartsWith(t.name, prefix);
    if (skip) continue;
    auto it = targets.find(t.name);
    if (it == targets.end()) {
      unexpected.push_back(t.name);
      continue;
    }
    if (it->second.sizes().vec() != t.sizes) {
      mismatched.push_back(absl::StrCat(t.name, ": file ", Shape(t.sizes), ", model ",
                                        Shape(it->second.sizes().vec())));
      continue;
    }
    found[t.name] = &t;
  }
  for (const auto& [name, tensor] : targets) {
    if (found.count(name) || absl::EndsWith(name, ".num_batches_tracked") ||
        name == "num_batches_tracked") {
      continue;
    }
    bool is_mismatched = false;
    for (const std::string& m : mismatched)
      is_mismatched = is_mismatched || absl::StartsWith(m, name + ":");
    if (!is_mismatched) missing.push_back(name);
  }
  if (options.strict && (!missing.empty() || !unexpected.empty() || !mismatched.empty())) {
    std::vector<std::string> parts;
    if (!missing.empty()) {
      parts.push_back(
          absl::StrCat(missing.size(), " missing key(s): ", absl::StrJoin(missing, ", ")));
    }
    if (!unexpected.empty()) {
      parts.push_back(
          absl::StrCat(unexpected.size(), " unexpected key(s): ", absl::StrJoin(unexpected, ", ")));
    }
    if (!mismatched.empty()) {
      parts.push_back(absl::StrCat(mismatched.size(),
                                   " shape mismatch(es): ", absl::StrJoin(mismatched, "; ")));
    }
    return absl::FailedPreconditionError(
        absl::StrCat("cannot load ", source, " strictly: ", absl::StrJoin(parts, "; ")));
  }
  torch::NoGradGuard no_grad;
  for (const auto& [name, record] : found) targets[name].copy_(View(file, *record));
  // Counters absent from older files start at 0, as PyTorch's BatchNorm loader does.
  for (auto& [name, tensor] : targets) {
    if (!found.count(name) && absl::EndsWith(name, "num_batches_tracked")) tensor.zero_();
  }
  return absl::OkStatus();
}

absl::Status LoadTorchvisionWeights(const std::string& path, torch::nn::Module& module) {
  absl::StatusOr<PthFile> file = ReadPthFile(path);
  if (!file.ok()) return file.status();
  LoadOptions options;
  bool has_fc = false;
  for (const auto& child : module.named_children()) has_fc = has_fc || child.key() == "fc";
  if (!has_fc) options.skip_prefixes.push_back("fc.");
  return LoadStateDict(*file, module, options, path);
}

}  // namespace malaria::models
