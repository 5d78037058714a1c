// Reading PyTorch `.pth` state_dict files (torch.save's zip format) without LibTorch, as untrusted
// input.
//
// torchvision publishes its ImageNet weights as torch.save(model.state_dict()) files: a zip archive
// holding `<name>/data.pkl` (a pickle of an OrderedDict of tensors, whose storages are persistent
// references) and one `<name>/data/<key>` record of raw little-endian bytes per storage. LibTorch's
// own loaders expect TorchScript archives and refuse these. This reader understands exactly the
// subset torch.save writes: a small pickle virtual machine that knows a handful of globals
// (OrderedDict, torch._utils._rebuild_tensor_v2 and _rebuild_parameter, the typed storages) and
// refuses everything else, so a hostile file can never make it run code. Every size, offset and
// count is checked against the file before it is used: a truncated or malicious file gives an
// error, never an out-of-bounds read or an unbounded allocation.
//
//   absl::StatusOr<PthFile> pth = ReadPthFile("resnet34-b627a593.pth");
//   for (const TensorRecord& t : pth->tensors) {
//     absl::string_view bytes = pth->StorageBytes(t);  // the tensor's storage
//     ... t.name, t.dtype, t.sizes, t.strides, t.storage_offset ...
//   }
#ifndef MALARIA_MODELS_PTH_READER_H_
#define MALARIA_MODELS_PTH_READER_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace malaria::models {

enum class DType {
  kFloat32,
  kFloat64,
  kFloat16,
  kBFloat16,
  kInt64,
  kInt32,
  kInt16,
  kInt8,
  kUInt8,
  kBool
};

// ElementSize returns the bytes per element of `dtype`.
int ElementSize(DType dtype);

// DTypeName returns the torch name ("float32", "int64", ...).
const char* DTypeName(DType dtype);

// One tensor of the state dict: a strided view of a storage.
struct TensorRecord {
  std::string name;
  DType dtype = DType::kFloat32;
  std::vector<int64_t> sizes;
  std::vector<int64_t> strides;
  int64_t storage_offset = 0;  // in elements
  std::string storage_key;

  // NumElements returns the product of sizes (1 for a scalar).
  int64_t NumElements() const;
};

// A parsed .pth file. `tensors` are in file order; their storages point into `bytes`.
struct PthFile {
  std::string bytes;  // the whole file
  std::vector<TensorRecord> tensors;
  struct Storage {
    DType dtype;
    int64_t numel;
    size_t offset;  // into bytes
  };
  std::map<std::string, Storage> storages;

  // StorageBytes returns the bytes of the storage `tensor` views (already validated to hold every
  // element the view reaches).
  absl::string_view StorageBytes(const TensorRecord& tensor) const;
};

// Limits that bound the work and memory a hostile file can cause.
struct PthLimits {
  int64_t max_file_bytes = int64_t{4} << 30;
  int64_t max_pickle_values = 1 << 22;  // values the pickle machine may create
  int64_t max_tensor_dims = 16;
  int64_t max_zip_entries = 1 << 20;
};

// ParsePth parses the bytes of a .pth file. `source` names it in error messages. InvalidArgument
// (DataLoss for truncation) naming the file and the problem: not a zip, compressed entries, a
// missing data.pkl or storage record, an unsupported pickle opcode or global, a tensor whose view
// reaches past its storage, a storage record of the wrong size, limits exceeded.
absl::StatusOr<PthFile> ParsePth(std::string bytes, const std::string& source,
                                 const PthLimits& limits = PthLimits());

// ReadPthFile reads and parses `path`. NotFound if it does not exist.
absl::StatusOr<PthFile> ReadPthFile(const std::string& path, const PthLimits& limits = PthLimits());

}  // namespace malaria::models

#endif  // MALARIA_MODELS_PTH_READER_H_
