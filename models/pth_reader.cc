#include "models/pth_reader.h"

#include <cstring>
#include <map>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/files.h"
#include "models/pth_unpickler.h"
#include "models/pth_zip.h"

namespace malaria::models {

using pth::CheckedMul;
using pth::KindName;
using pth::Unpickler;
using pth::Value;
using pth::ValuePtr;
using pth::ZipEntry;

int ElementSize(DType d) {
  switch (d) {
    case DType::kFloat64:
    case DType::kInt64:
      return 8;
    case DType::kFloat32:
    case DType::kInt32:
      return 4;
    case DType::kFloat16:
    case DType::kBFloat16:
    case DType::kInt16:
      return 2;
    default:
      return 1;
  }
}

const char* DTypeName(DType d) {
  switch (d) {
    case DType::kFloat32:
      return "float32";
    case DType::kFloat64:
      return "float64";
    case DType::kFloat16:
      return "float16";
    case DType::kBFloat16:
      return "bfloat16";
    case DType::kInt64:
      return "int64";
    case DType::kInt32:
      return "int32";
    case DType::kInt16:
      return "int16";
    case DType::kInt8:
      return "int8";
    case DType::kUInt8:
      return "uint8";
    case DType::kBool:
      return "bool";
  }
  return "?";
}

int64_t TensorRecord::NumElements() const {
  int64_t n = 1;
  for (int64_t s : sizes) n *= s;
  return n;
}

absl::string_view PthFile::StorageBytes(const TensorRecord& tensor) const {
  const Storage& s = storages.at(tensor.storage_key);
  return absl::string_view(bytes).substr(s.offset, s.numel * ElementSize(s.dtype));
}

absl::StatusOr<PthFile> ParsePth(std::string bytes, const std::string& source,
                                 const PthLimits& limits) {
  if (static_cast<int64_t>(bytes.size()) > limits.max_file_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        source, ": ", bytes.size(), " bytes, more than the limit of ", limits.max_file_bytes));
  }
  PthFile file;
  file.bytes = std::move(bytes);
  const absl::string_view data(file.bytes);
  absl::StatusOr<std::vector<ZipEntry>> entries = pth::ReadZip(data, source, limits);
  if (!entries.ok()) return entries.status();

  // <prefix>/data.pkl names the archive's folder; storages are <prefix>/data/<key>.
  const ZipEntry* pickle = nullptr;
  for (const ZipEntry& e : *entries) {
    if (e.name == "data.pkl" || absl::EndsWith(e.name, "/data.pkl")) {
      if (pickle != nullptr) {
        return absl::InvalidArgumentError(absl::StrCat(source, ": more than one data.pkl"));
      }
      pickle = &e;
    }
  }
  if (pickle == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        source, ": no data.pkl in the archive (a TorchScript or other zip file, not torch.save?)"));
  }
  const std::string prefix = pickle->name.substr(0, pickle->name.size() - std::strlen("data.pkl"));
  std::map<std::string, const ZipEntry*> by_name;
  for (const ZipEntry& e : *entries) by_name[e.name] = &e;
  if (auto it = by_name.find(prefix + "byteorder"); it != by_name.end()) {
    const absl::string_view order = data.substr(it->second->offset, it->second->size);
    if (order != "little") {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ": byte order '", order, "' (only little-endian files are read)"));
    }
  }

  Unpickler unpickler(data.substr(pickle->offset, pickle->size), source, limits);
  absl::StatusOr<ValuePtr> root = unpickler.Run();
  if (!root.ok()) return root.status();
  absl::StatusOr<const Value*> dict = pth::FindStateDict(**root, source);
  if (!dict.ok()) return dict.status();

  std::set<std::string> names;
  for (const auto& [key, value] : (*dict)->entries) {
    if (key->kind != Value::kString) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ": a state_dict key is a ", KindName(key->kind), ", not a string"));
    }
    if (value->kind != Value::kTensor) {
      return absl::InvalidArgumentError(absl::StrCat(source, ": entry '", key->s, "' is a ",
                                                     KindName(value->kind), ", not a tensor"));
    }
    if (!names.insert(key->s).second) {
      return absl::InvalidArgumentError(absl::StrCat(source, ": key '", key->s, "' appears twice"));
    }
    TensorRecord record = *value->tensor;
    record.name = key->s;
    file.tensors.push_back(std::move(record));
  }
  if (file.tensors.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": the state_dict holds no tensors"));
  }
  for (const auto& [key, info] : unpickler.storages()) {
    auto it = by_name.find(prefix + "data/" + key);
    if (it == by_name.end()) {
      return absl::DataLossError(
          absl::StrCat(source, ": storage record data/", key, " is missing"));
    }
    int64_t expected;
    if (!CheckedMul(info.second, ElementSize(info.first), &expected) ||
        static_cast<uint64_t>(expected) != it->second->size) {
      return absl::DataLossError(absl::StrCat(source, ": storage data/", key, " holds ",
                                              it->second->size, " bytes, but ", info.second, " ",
                                              DTypeName(info.first), " elements of ",
                                              ElementSize(info.first), " bytes are declared"));
    }
    file.storages[key] = {info.first, info.second, static_cast<size_t>(it->second->offset)};
  }
  return file;
}

absl::StatusOr<PthFile> ReadPthFile(const std::string& path, const PthLimits& limits) {
  absl::StatusOr<std::string> bytes = base::ReadFile(path);
  if (!bytes.ok()) return bytes.status();
  return ParsePth(*std::move(bytes), path, limits);
}

}  // namespace malaria::models
