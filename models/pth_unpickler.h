// The pickle machine of torch.save files (models/pth_reader.h's second layer): a small pickle
// virtual machine that knows a handful of globals (OrderedDict, torch._utils' _rebuild_tensor_v2
// and _rebuild_parameter, the typed storages, LibTorch's type tag of a typed dict) and refuses
// everything else, so a hostile file can never make it run code; every count and size is bounded
// by PthLimits. Internal to //models:pth_reader.
//
//   Unpickler unpickler(data_pkl_bytes, "x.pth", limits);
//   absl::StatusOr<ValuePtr> root = unpickler.Run();
//   absl::StatusOr<const Value*> dict = FindStateDict(**root, "x.pth");
#ifndef MALARIA_MODELS_PTH_UNPICKLER_H_
#define MALARIA_MODELS_PTH_UNPICKLER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "models/pth_reader.h"
#include "models/pth_zip.h"

namespace malaria::models::pth {

struct Value;
using ValuePtr = std::shared_ptr<Value>;

struct Value {
  enum Kind {
    kNone,
    kBool,
    kInt,
    kFloat,
    kString,
    kBytes,
    kTuple,
    kList,
    kDict,
    kGlobal,
    kStorage,
    kTensor
  };
  Kind kind = kNone;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string s;                // string, bytes, global ("module.name"), storage key
  std::vector<ValuePtr> items;  // tuple, list
  std::vector<std::pair<ValuePtr, ValuePtr>> entries;  // dict, in insertion order
  // storage
  DType dtype = DType::kFloat32;
  int64_t numel = 0;
  // tensor
  std::shared_ptr<TensorRecord> tensor;
};

// KindName returns the Python name of a value's kind ("dict", "tensor", ...).
const char* KindName(Value::Kind k);

// StorageDType sets `dtype` for a typed storage global ("torch.FloatStorage", ...); false for any
// other name.
bool StorageDType(absl::string_view global, DType* dtype);

// CheckedMul sets *out = a * b for non-negative a and b; false on overflow or a negative factor.
bool CheckedMul(int64_t a, int64_t b, int64_t* out);

// Runs a pickle program (data.pkl) into a value, recording the storages it references.
class Unpickler {
 public:
  Unpickler(absl::string_view data, const std::string& source, const PthLimits& limits)
      : in_(data), source_(source), limits_(limits) {}

  absl::StatusOr<ValuePtr> Run();
  std::map<std::string, std::pair<DType, int64_t>>& storages() { return storages_; }

 private:
  absl::Status Error(const std::string& what) const {
    return absl::InvalidArgumentError(
        absl::StrCat(source_, ": data.pkl at byte ", op_pos_, ": ", what));
  }
  absl::Status Truncated() const {
    return absl::DataLossError(absl::StrCat(source_, ": data.pkl truncated at byte ", op_pos_));
  }
  absl::StatusOr<ValuePtr> New(Value::Kind kind) {
    if (++values_ > limits_.max_pickle_values) return Error("too many pickle values");
    auto v = std::make_shared<Value>();
    v->kind = kind;
    return v;
  }
  absl::Status Push(absl::StatusOr<ValuePtr> v) {
    if (!v.ok()) return v.status();
    stack_.push_back(*std::move(v));
    return absl::OkStatus();
  }
  absl::StatusOr<ValuePtr> Pop() {
    if (stack_.size() <= (marks_.empty() ? 0 : marks_.back())) return Error("stack underflow");
    ValuePtr v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  absl::StatusOr<std::vector<ValuePtr>> PopToMark() {
    if (marks_.empty()) return Error("no MARK on the stack");
    const size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<ValuePtr> items(std::make_move_iterator(stack_.begin() + mark),
                                std::make_move_iterator(stack_.end()));
    stack_.resize(mark);
    return items;
  }
  absl::StatusOr<ValuePtr> Top() {
    if (stack_.empty() || stack_.size() <= (marks_.empty() ? 0 : marks_.back())) {
      return Error("stack underflow");
    }
    return stack_.back();
  }
  absl::StatusOr<ValuePtr> String(Value::Kind kind, size_t n) {
    absl::string_view bytes;
    if (!in_.Bytes(n, &bytes)) return Truncated();
    absl::StatusOr<ValuePtr> v = New(kind);
    if (v.ok()) (*v)->s = std::string(bytes);
    return v;
  }
  absl::StatusOr<ValuePtr> Int(int64_t i) {
    absl::StatusOr<ValuePtr> v = New(Value::kInt);
    if (v.ok()) (*v)->i = i;
    return v;
  }
  absl::Status Memo(uint64_t index) {
    absl::StatusOr<ValuePtr> top = Top();
    if (!top.ok()) return top.status();
    if (memo_.size() >= static_cast<size_t>(limits_.max_pickle_values))
      return Error("memo too large");
    memo_[index] = *top;
    return absl::OkStatus();
  }
  absl::Status Get(uint64_t index) {
    auto it = memo_.find(index);
    if (it == memo_.end()) return Error(absl::StrCat("memo entry ", index, " was never stored"));
    stack_.push_back(it->second);
    return absl::OkStatus();
  }
  absl::StatusOr<ValuePtr> Tuple(std::vector<ValuePtr> items) {
    absl::StatusOr<ValuePtr> v = New(Value::kTuple);
    if (v.ok()) (*v)->items = std::move(items);
    return v;
  }
  // SetItems appends key-value pairs; duplicate keys are found when the state dict is read.
  absl::Status SetItems(const ValuePtr& dict, std::vector<ValuePtr>& kv) {
    if (dict->kind != Value::kDict)
      return Error(absl::StrCat("SETITEM on a ", KindName(dict->kind)));
    if (kv.size() % 2 != 0) return Error("odd number of items for SETITEMS");
    for (size_t i = 0; i < kv.size(); i += 2) dict->entries.emplace_back(kv[i], kv[i + 1]);
    return absl::OkStatus();
  }
  absl::StatusOr<ValuePtr> Call(const ValuePtr& callable, const ValuePtr& args);
  absl::StatusOr<ValuePtr> PersistentLoad(const ValuePtr& pid);
  absl::StatusOr<ValuePtr> RebuildTensor(const std::vector<ValuePtr>& args);

  Cursor in_;
  std::string source_;
  PthLimits limits_;
  size_t op_pos_ = 0;
  int64_t values_ = 0;
  std::vector<ValuePtr> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, ValuePtr> memo_;
  std::map<std::string, std::pair<DType, int64_t>> storages_;  // key -> (dtype, numel)
};

// FindStateDict returns the state dict inside the unpickled value: a dict of tensors, or a
// checkpoint dict holding one under "state_dict" or "model". InvalidArgument naming `source` when
// the value is not a dict.
absl::StatusOr<const Value*> FindStateDict(const Value& root, const std::string& source);

}  // namespace malaria::models::pth

#endif  // MALARIA_MODELS_PTH_UNPICKLER_H_
