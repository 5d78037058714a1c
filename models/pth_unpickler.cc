#include "models/pth_unpickler.h"

#include <limits>

namespace malaria::models::pth {

const char* KindName(Value::Kind k) {
  static const char* names[] = {"None",  "bool", "int",  "float",  "str",     "bytes",
                                "tuple", "list", "dict", "global", "storage", "tensor"};
  return names[k];
}

bool StorageDType(absl::string_view global, DType* dtype) {
  static const std::pair<const char*, DType> kTypes[] = {
      {"torch.FloatStorage", DType::kFloat32}, {"torch.DoubleStorage", DType::kFloat64},
      {"torch.HalfStorage", DType::kFloat16},  {"torch.BFloat16Storage", DType::kBFloat16},
      {"torch.LongStorage", DType::kInt64},    {"torch.IntStorage", DType::kInt32},
      {"torch.ShortStorage", DType::kInt16},   {"torch.CharStorage", DType::kInt8},
      {"torch.ByteStorage", DType::kUInt8},    {"torch.BoolStorage", DType::kBool},
  };
  for (const auto& [name, d] : kTypes) {
    if (global == name) {
      *dtype = d;
      return true;
    }
  }
  return false;
}

bool CheckedMul(int64_t a, int64_t b, int64_t* out) {
  if (a < 0 || b < 0) return false;
  if (a != 0 && b > std::numeric_limits<int64_t>::max() / a) return false;
  *out = a * b;
  return true;
}

absl::StatusOr<ValuePtr> Unpickler::PersistentLoad(const ValuePtr& pid) {
  // ('storage', <storage type>, key, location, numel)
  if (pid->kind != Value::kTuple || pid->items.size() != 5 ||
      pid->items[0]->kind != Value::kString || pid->items[0]->s != "storage") {
    return Error(
        "unsupported persistent id (expected a ('storage', type, key, location, numel) tuple)");
  }
  const auto& it = pid->items;
  DType dtype;
  if (it[1]->kind != Value::kGlobal || !StorageDType(it[1]->s, &dtype)) {
    return Error(absl::StrCat("unsupported storage type ",
                              it[1]->kind == Value::kGlobal ? it[1]->s : KindName(it[1]->kind)));
  }
  if (it[2]->kind != Value::kString || it[2]->s.empty() || it[2]->s.size() > 64) {
    return Error("bad storage key");
  }
  for (char ch : it[2]->s) {
    if (!(ch >= '0' && ch <= '9') && !(ch >= 'a' && ch <= 'z') && !(ch >= 'A' && ch <= 'Z') &&
        ch != '_') {
      return Error("bad storage key");
    }
  }
  if (it[3]->kind != Value::kString) return Error("bad storage location");
  if (it[4]->kind != Value::kInt || it[4]->i < 0) return Error("bad storage size");
  auto [entry, inserted] = storages_.emplace(it[2]->s, std::make_pair(dtype, it[4]->i));
  if (!inserted && (entry->second.first != dtype || entry->second.second != it[4]->i)) {
    return Error(
        absl::StrCat("storage ", it[2]->s, " declared twice with different types or sizes"));
  }
  absl::StatusOr<ValuePtr> v = New(Value::kStorage);
  if (!v.ok()) return v;
  (*v)->s = it[2]->s;
  (*v)->dtype = dtype;
  (*v)->numel = it[4]->i;
  return v;
}

absl::StatusOr<ValuePtr> Unpickler::RebuildTensor(const std::vector<ValuePtr>& args) {
  // (storage, storage_offset, size, stride, ...)
  if (args.size() < 4) return Error("_rebuild_tensor needs storage, offset, size and stride");
  const ValuePtr& storage = args[0];
  if (storage->kind != Value::kStorage) return Error("tensor without a storage");
  if (args[1]->kind != Value::kInt || args[1]->i < 0) return Error("bad storage offset");
  if (args[2]->kind != Value::kTuple || args[3]->kind != Value::kTuple ||
      args[2]->items.size() != args[3]->items.size()) {
    return Error("tensor size and stride must be tuples of equal length");
  }
  if (static_cast<int64_t>(args[2]->items.size()) > limits_.max_tensor_dims) {
    return Error(absl::StrCat("tensor with ", args[2]->items.size(), " dimensions"));
  }
  auto record = std::make_shared<TensorRecord>();
  record->dtype = storage->dtype;
  record->storage_key = storage->s;
  record->storage_offset = args[1]->i;
  int64_t numel = 1, reach = 0;
  for (size_t d = 0; d < args[2]->items.size(); ++d) {
    const ValuePtr& size = args[2]->items[d];
    const ValuePtr& stride = args[3]->items[d];
    if (size->kind != Value::kInt || stride->kind != Value::kInt || size->i < 0 || stride->i < 0) {
      return Error("tensor sizes and strides must be non-negative integers");
    }
    record->sizes.push_back(size->i);
    record->strides.push_back(stride->i);
    int64_t span;
    if (!CheckedMul(numel, size->i, &numel) ||
        (size->i > 0 && (!CheckedMul(size->i - 1, stride->i, &span) ||
                         reach > std::numeric_limits<int64_t>::max() - span))) {
      return Error("tensor size overflows");
    }
    if (size->i > 0) reach += span;
  }
  if (numel > 0 && (record->storage_offset > storage->numel ||
                    reach >= storage->numel - record->storage_offset)) {
    return Error(absl::StrCat("tensor view (offset ", record->storage_offset, ", reaching element ",
                              record->storage_offset + reach, ") exceeds its storage of ",
                              storage->numel, " elements"));
  }
  absl::StatusOr<ValuePtr> v = New(Value::kTensor);
  if (v.ok()) (*v)->tensor = std::move(record);
  return v;
}

absl::StatusOr<ValuePtr> Unpickler::Call(const ValuePtr& callable, const ValuePtr& args) {
  if (callable->kind != Value::kGlobal)
    return Error(absl::StrCat("call of a ", KindName(callable->kind)));
  if (args->kind != Value::kTuple) return Error("call arguments must be a tuple");
  const std::string& f = callable->s;
  if (f == "collections.OrderedDict" || f == "builtins.dict") {
    if (!args->items.empty()) return Error(absl::StrCat(f, " with arguments"));
    return New(Value::kDict);
  }
  if (f == "torch._utils._rebuild_tensor_v2" || f == "torch._utils._rebuild_tensor") {
    return RebuildTensor(args->items);
  }
  if (f == "torch._utils._rebuild_parameter" || f == "torch._utils._rebuild_parameter_with_state") {
    if (args->items.empty() || args->items[0]->kind != Value::kTensor) {
      return Error("_rebuild_parameter without a tensor");
    }
    return args->items[0];
  }
  // LibTorch's pickle_save (models/pth_writer.h) tags a typed dict with its type; the tag is
  // a string and the call returns the dict as it is.
  if (f == "torch.jit._pickle.restore_type_tag") {
    if (args->items.size() != 2 || args->items[1]->kind != Value::kString) {
      return Error("restore_type_tag needs a value and a type name");
    }
    return args->items[0];
  }
  return Error(absl::StrCat("unsupported global '", f,
                            "' (only state dicts of tensors are read; nothing is executed)"));
}

absl::StatusOr<const Value*> FindStateDict(const Value& root, const std::string& source) {
  if (root.kind != Value::kDict) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": holds a ", KindName(root.kind), ", not a state_dict"));
  }
  bool all_tensors = !root.entries.empty();
  for (const auto& [k, v] : root.entries) all_tensors = all_tensors && v->kind == Value::kTensor;
  if (all_tensors) return &root;
  for (const char* key : {"state_dict", "model"}) {
    for (const auto& [k, v] : root.entries) {
      if (k->kind == Value::kString && k->s == key && v->kind == Value::kDict) return v.get();
    }
  }
  return &root;
}

}  // namespace malaria::models::pth
