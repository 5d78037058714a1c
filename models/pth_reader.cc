#include "models/pth_reader.h"

#include <cstring>
#include <limits>
#include <memory>
#include <set>
#include <unordered_map>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/files.h"

namespace malaria::models {
namespace {

// ---------------------------------------------------------------------------------------------
// Bounds-checked little-endian reading.

class Cursor {
 public:
  Cursor(absl::string_view data, size_t pos = 0) : data_(data), pos_(pos) {}
  bool Has(size_t n) const { return pos_ <= data_.size() && n <= data_.size() - pos_; }
  size_t pos() const { return pos_; }
  bool Skip(size_t n) {
    if (!Has(n)) return false;
    pos_ += n;
    return true;
  }
  bool U8(uint8_t* v) { return Le(v); }
  bool U16(uint16_t* v) { return Le(v); }
  bool U32(uint32_t* v) { return Le(v); }
  bool U64(uint64_t* v) { return Le(v); }
  bool Bytes(size_t n, absl::string_view* out) {
    if (!Has(n)) return false;
    *out = data_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  // Line reads up to and excluding '\n' (the pickle GLOBAL opcode's text arguments).
  bool Line(absl::string_view* out, size_t max_length) {
    const size_t end = data_.find('\n', pos_);
    if (end == absl::string_view::npos || end - pos_ > max_length) return false;
    *out = data_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return true;
  }

 private:
  template <typename T>
  bool Le(T* v) {
    if (!Has(sizeof(T))) return false;
    T x = 0;
    for (size_t i = 0; i < sizeof(T); ++i) {
      x |= static_cast<T>(static_cast<uint8_t>(data_[pos_ + i])) << (8 * i);
    }
    *v = x;
    pos_ += sizeof(T);
    return true;
  }

  absl::string_view data_;
  size_t pos_;
};

// ---------------------------------------------------------------------------------------------
// The zip container (stored entries only, as torch.save writes them; ZIP64 understood).

struct ZipEntry {
  std::string name;
  uint64_t offset = 0;  // of the data
  uint64_t size = 0;
};

constexpr uint32_t kEocdSignature = 0x06054b50;
constexpr uint32_t kZip64LocatorSignature = 0x07064b50;
constexpr uint32_t kZip64EocdSignature = 0x06064b50;
constexpr uint32_t kCentralSignature = 0x02014b50;
constexpr uint32_t kLocalSignature = 0x04034b50;

absl::StatusOr<std::vector<ZipEntry>> ReadZip(absl::string_view data, const std::string& source,
                                              const PthLimits& limits) {
  auto bad = [&](const std::string& what) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": not a valid torch.save zip file: ", what));
  };
  if (data.size() < 22) return bad("too short for a zip archive");
  // The end-of-central-directory record sits in the last 22 + 65535 bytes.
  size_t eocd = std::string::npos;
  const size_t lowest = data.size() >= 22 + 65535 ? data.size() - 22 - 65535 : 0;
  for (size_t p = data.size() - 22 + 1; p-- > lowest;) {
    uint32_t sig;
    Cursor c(data, p);
    if (c.U32(&sig) && sig == kEocdSignature) {
      eocd = p;
      break;
    }
  }
  if (eocd == std::string::npos) {
    if (data.size() >= 2 && static_cast<uint8_t>(data[0]) == 0x80) {
      return absl::InvalidArgumentError(absl::StrCat(
          source,
          ": a legacy (pre-1.6, non-zip) torch.save file; re-save it with a current "
          "PyTorch (torch.save(torch.load(f), f2)) or use torchvision's current weights"));
    }
    return bad("no end-of-central-directory record (truncated, or not a zip)");
  }
  Cursor c(data, eocd + 4);
  uint16_t disk = 0, cd_disk = 0, entries_here = 0, entries16 = 0, comment = 0;
  uint32_t cd_size32 = 0, cd_offset32 = 0;
  // The search above left at least 22 bytes from `eocd` on.
  if (!c.U16(&disk) || !c.U16(&cd_disk) || !c.U16(&entries_here) || !c.U16(&entries16) ||
      !c.U32(&cd_size32) || !c.U32(&cd_offset32) || !c.U16(&comment)) {
    return bad("end-of-central-directory record truncated");
  }
  uint64_t entries = entries16, cd_size = cd_size32, cd_offset = cd_offset32;
  if (entries16 == 0xFFFF || cd_size32 == 0xFFFFFFFF || cd_offset32 == 0xFFFFFFFF) {
    if (eocd < 20) return bad("ZIP64 locator missing");
    Cursor l(data, eocd - 20);
    uint32_t sig, zip64_disk, disks;
    uint64_t zip64_eocd;
    if (!l.U32(&sig) || sig != kZip64LocatorSignature || !l.U32(&zip64_disk) ||
        !l.U64(&zip64_eocd) || !l.U32(&disks)) {
      return bad("ZIP64 locator missing");
    }
    if (zip64_eocd >= data.size()) return bad("ZIP64 record offset past the end");
    Cursor z(data, zip64_eocd);
    uint64_t record_size, entries_disk;
    uint16_t made, needed;
    uint32_t d1, d2;
    if (!z.U32(&sig) || sig != kZip64EocdSignature || !z.U64(&record_size) || !z.U16(&made) ||
        !z.U16(&needed) || !z.U32(&d1) || !z.U32(&d2) || !z.U64(&entries_disk) ||
        !z.U64(&entries) || !z.U64(&cd_size) || !z.U64(&cd_offset)) {
      return bad("ZIP64 end record truncated");
    }
  }
  if (disk != 0 || cd_disk != 0) return bad("multi-volume archives are not supported");
  if (entries > static_cast<uint64_t>(limits.max_zip_entries)) {
    return bad(absl::StrCat(entries, " entries, more than the limit of ", limits.max_zip_entries));
  }
  if (cd_offset > data.size() || cd_size > data.size() - cd_offset) {
    return bad("central directory past the end of the file (truncated?)");
  }
  std::vector<ZipEntry> out;
  Cursor cd(data.substr(0, cd_offset + cd_size), cd_offset);
  for (uint64_t i = 0; i < entries; ++i) {
    uint32_t sig, crc, comp32, size32, attr, local32;
    uint16_t made, needed, flags, method, time, date, name_len, extra_len, comment_len, start,
        iattr;
    if (!cd.U32(&sig) || sig != kCentralSignature || !cd.U16(&made) || !cd.U16(&needed) ||
        !cd.U16(&flags) || !cd.U16(&method) || !cd.U16(&time) || !cd.U16(&date) || !cd.U32(&crc) ||
        !cd.U32(&comp32) || !cd.U32(&size32) || !cd.U16(&name_len) || !cd.U16(&extra_len) ||
        !cd.U16(&comment_len) || !cd.U16(&start) || !cd.U16(&iattr) || !cd.U32(&attr) ||
        !cd.U32(&local32)) {
      return bad(absl::StrCat("central directory entry ", i, " truncated"));
    }
    absl::string_view name, extra;
    if (!cd.Bytes(name_len, &name) || !cd.Bytes(extra_len, &extra) || !cd.Skip(comment_len)) {
      return bad(absl::StrCat("central directory entry ", i, " truncated"));
    }
    uint64_t comp = comp32, size = size32, local = local32;
    // ZIP64 extra field: the 64-bit values of the fields that hold 0xFFFFFFFF, in this order.
    Cursor x(extra);
    while (x.Has(4)) {
      uint16_t id = 0, len = 0;
      if (!x.U16(&id) || !x.U16(&len)) break;
      absl::string_view body;
      if (!x.Bytes(len, &body)) return bad("malformed extra field");
      if (id != 0x0001) continue;
      Cursor b(body);
      if (size32 == 0xFFFFFFFF && !b.U64(&size)) return bad("malformed ZIP64 extra field");
      if (comp32 == 0xFFFFFFFF && !b.U64(&comp)) return bad("malformed ZIP64 extra field");
      if (local32 == 0xFFFFFFFF && !b.U64(&local)) return bad("malformed ZIP64 extra field");
    }
    if (flags & 1) return bad(absl::StrCat("entry ", name, " is encrypted"));
    if (method != 0 || comp != size) {
      return bad(absl::StrCat("entry ", name, " is compressed (method ", method,
                              "); torch.save stores entries uncompressed"));
    }
    Cursor lh(data, local);
    uint32_t lsig;
    uint16_t lname, lextra;
    if (local >= data.size() || !lh.U32(&lsig) || lsig != kLocalSignature || !lh.Skip(22) ||
        !lh.U16(&lname) || !lh.U16(&lextra) || !lh.Skip(lname) || !lh.Skip(lextra)) {
      return bad(absl::StrCat("local header of ", name, " missing or truncated"));
    }
    const uint64_t offset = lh.pos();
    if (offset > data.size() || size > data.size() - offset) {
      return absl::DataLossError(
          absl::StrCat(source, ": entry ", name, " (", size,
                       " bytes) runs past the end of the file (truncated?)"));
    }
    out.push_back({std::string(name), offset, size});
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The pickle machine.

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
  return Error(absl::StrCat("unsupported global '", f,
                            "' (only state dicts of tensors are read; nothing is executed)"));
}

absl::StatusOr<ValuePtr> Unpickler::Run() {
  while (true) {
    op_pos_ = in_.pos();
    uint8_t op;
    if (!in_.U8(&op)) return Truncated();
    absl::Status s = absl::OkStatus();
    switch (op) {
      case 0x80: {  // PROTO
        uint8_t proto;
        if (!in_.U8(&proto)) return Truncated();
        if (proto > 5) return Error(absl::StrCat("pickle protocol ", proto));
        break;
      }
      case 0x95: {  // FRAME
        uint64_t n;
        if (!in_.U64(&n)) return Truncated();
        break;
      }
      case '}':
        s = Push(New(Value::kDict));
        break;
      case ']':
        s = Push(New(Value::kList));
        break;
      case ')':
        s = Push(Tuple({}));
        break;
      case '(':
        marks_.push_back(stack_.size());
        break;
      case 'N':
        s = Push(New(Value::kNone));
        break;
      case 0x88:
      case 0x89: {
        absl::StatusOr<ValuePtr> v = New(Value::kBool);
        if (v.ok()) (*v)->b = op == 0x88;
        s = Push(std::move(v));
        break;
      }
      case 'K': {
        uint8_t v;
        if (!in_.U8(&v)) return Truncated();
        s = Push(Int(v));
        break;
      }
      case 'M': {
        uint16_t v;
        if (!in_.U16(&v)) return Truncated();
        s = Push(Int(v));
        break;
      }
      case 'J': {
        uint32_t v;
        if (!in_.U32(&v)) return Truncated();
        s = Push(Int(static_cast<int32_t>(v)));
        break;
      }
      case 0x8a: {  // LONG1
        uint8_t n;
        absl::string_view bytes;
        if (!in_.U8(&n) || !in_.Bytes(n, &bytes)) return Truncated();
        if (n > 8) return Error("integer wider than 64 bits");
        uint64_t v = 0;
        for (size_t k = 0; k < n; ++k)
          v |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[k])) << (8 * k);
        if (n > 0 && n < 8 && (static_cast<uint8_t>(bytes[n - 1]) & 0x80))
          v |= ~uint64_t{0} << (8 * n);
        s = Push(Int(static_cast<int64_t>(v)));
        break;
      }
      case 'G': {  // BINFLOAT, big-endian
        absl::string_view bytes;
        if (!in_.Bytes(8, &bytes)) return Truncated();
        uint64_t bits = 0;
        for (int k = 0; k < 8; ++k) bits = (bits << 8) | static_cast<uint8_t>(bytes[k]);
        absl::StatusOr<ValuePtr> v = New(Value::kFloat);
        if (v.ok()) std::memcpy(&(*v)->f, &bits, 8);
        s = Push(std::move(v));
        break;
      }
      case 'X': {
        uint32_t n;
        if (!in_.U32(&n)) return Truncated();
        s = Push(String(Value::kString, n));
        break;
      }
      case 0x8c: {
        uint8_t n;
        if (!in_.U8(&n)) return Truncated();
        s = Push(String(Value::kString, n));
        break;
      }
      case 0x8d: {
        uint64_t n;
        if (!in_.U64(&n)) return Truncated();
        if (!in_.Has(n)) return Truncated();
        s = Push(String(Value::kString, n));
        break;
      }
      case 'U': {
        uint8_t n;
        if (!in_.U8(&n)) return Truncated();
        s = Push(String(Value::kString, n));
        break;
      }
      case 'T': {
        uint32_t n;
        if (!in_.U32(&n)) return Truncated();
        if (static_cast<int32_t>(n) < 0) return Error("negative string length");
        s = Push(String(Value::kString, n));
        break;
      }
      case 'B': {
        uint32_t n;
        if (!in_.U32(&n)) return Truncated();
        s = Push(String(Value::kBytes, n));
        break;
      }
      case 'C': {
        uint8_t n;
        if (!in_.U8(&n)) return Truncated();
        s = Push(String(Value::kBytes, n));
        break;
      }
      case 'q': {
        uint8_t i;
        if (!in_.U8(&i)) return Truncated();
        s = Memo(i);
        break;
      }
      case 'r': {
        uint32_t i;
        if (!in_.U32(&i)) return Truncated();
        s = Memo(i);
        break;
      }
      case 0x94:
        s = Memo(memo_.size());
        break;
      case 'h': {
        uint8_t i;
        if (!in_.U8(&i)) return Truncated();
        s = Get(i);
        break;
      }
      case 'j': {
        uint32_t i;
        if (!in_.U32(&i)) return Truncated();
        s = Get(i);
        break;
      }
      case 't': {
        absl::StatusOr<std::vector<ValuePtr>> items = PopToMark();
        if (!items.ok()) return items.status();
        s = Push(Tuple(*std::move(items)));
        break;
      }
      case 0x85:
      case 0x86:
      case 0x87: {
        const size_t n = op - 0x84;
        std::vector<ValuePtr> items(n);
        for (size_t k = n; k-- > 0;) {
          absl::StatusOr<ValuePtr> v = Pop();
          if (!v.ok()) return v.status();
          items[k] = *std::move(v);
        }
        s = Push(Tuple(std::move(items)));
        break;
      }
      case 'l': {
        absl::StatusOr<std::vector<ValuePtr>> items = PopToMark();
        if (!items.ok()) return items.status();
        absl::StatusOr<ValuePtr> v = New(Value::kList);
        if (v.ok()) (*v)->items = *std::move(items);
        s = Push(std::move(v));
        break;
      }
      case 'd': {
        absl::StatusOr<std::vector<ValuePtr>> items = PopToMark();
        if (!items.ok()) return items.status();
        absl::StatusOr<ValuePtr> v = New(Value::kDict);
        if (!v.ok()) return v.status();
        s = SetItems(*v, *items);
        if (s.ok()) stack_.push_back(*v);
        break;
      }
      case 'a': {
        absl::StatusOr<ValuePtr> v = Pop();
        if (!v.ok()) return v.status();
        absl::StatusOr<ValuePtr> list = Top();
        if (!list.ok()) return list.status();
        if ((*list)->kind != Value::kList) return Error("APPEND to a non-list");
        (*list)->items.push_back(*std::move(v));
        break;
      }
      case 'e': {
        absl::StatusOr<std::vector<ValuePtr>> items = PopToMark();
        if (!items.ok()) return items.status();
        absl::StatusOr<ValuePtr> list = Top();
        if (!list.ok()) return list.status();
        if ((*list)->kind != Value::kList) return Error("APPENDS to a non-list");
        for (auto& v : *items) (*list)->items.push_back(std::move(v));
        break;
      }
      case 's': {
        absl::StatusOr<ValuePtr> v = Pop();
        if (!v.ok()) return v.status();
        absl::StatusOr<ValuePtr> k = Pop();
        if (!k.ok()) return k.status();
        absl::StatusOr<ValuePtr> dict = Top();
        if (!dict.ok()) return dict.status();
        std::vector<ValuePtr> kv = {*k, *v};
        s = SetItems(*dict, kv);
        break;
      }
      case 'u': {
        absl::StatusOr<std::vector<ValuePtr>> items = PopToMark();
        if (!items.ok()) return items.status();
        absl::StatusOr<ValuePtr> dict = Top();
        if (!dict.ok()) return dict.status();
        s = SetItems(*dict, *items);
        break;
      }
      case 'c': {
        absl::string_view module, name;
        if (!in_.Line(&module, 256) || !in_.Line(&name, 256)) return Truncated();
        absl::StatusOr<ValuePtr> v = New(Value::kGlobal);
        if (v.ok()) (*v)->s = absl::StrCat(module, ".", name);
        s = Push(std::move(v));
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        absl::StatusOr<ValuePtr> name = Pop();
        if (!name.ok()) return name.status();
        absl::StatusOr<ValuePtr> module = Pop();
        if (!module.ok()) return module.status();
        if ((*name)->kind != Value::kString || (*module)->kind != Value::kString) {
          return Error("STACK_GLOBAL needs two strings");
        }
        absl::StatusOr<ValuePtr> v = New(Value::kGlobal);
        if (v.ok()) (*v)->s = absl::StrCat((*module)->s, ".", (*name)->s);
        s = Push(std::move(v));
        break;
      }
      case 'R':
      case 0x81: {  // REDUCE, NEWOBJ
        absl::StatusOr<ValuePtr> args = Pop();
        if (!args.ok()) return args.status();
        absl::StatusOr<ValuePtr> callable = Pop();
        if (!callable.ok()) return callable.status();
        s = Push(Call(*callable, *args));
        break;
      }
      case 'Q': {
        absl::StatusOr<ValuePtr> pid = Pop();
        if (!pid.ok()) return pid.status();
        s = Push(PersistentLoad(*pid));
        break;
      }
      case 'b': {  // BUILD: state of an OrderedDict (its _metadata) or a parameter; ignored
        absl::StatusOr<ValuePtr> state = Pop();
        if (!state.ok()) return state.status();
        absl::StatusOr<ValuePtr> target = Top();
        if (!target.ok()) return target.status();
        if ((*target)->kind != Value::kDict && (*target)->kind != Value::kTensor) {
          return Error(absl::StrCat("BUILD on a ", KindName((*target)->kind)));
        }
        break;
      }
      case '0': {
        absl::StatusOr<ValuePtr> v = Pop();
        if (!v.ok()) return v.status();
        break;
      }
      case '1': {
        absl::StatusOr<std::vector<ValuePtr>> items = PopToMark();
        if (!items.ok()) return items.status();
        break;
      }
      case '2': {
        absl::StatusOr<ValuePtr> v = Top();
        if (!v.ok()) return v.status();
        stack_.push_back(*v);
        break;
      }
      case '.': {
        if (stack_.size() != 1 || !marks_.empty()) return Error("STOP with a malformed stack");
        return stack_.back();
      }
      default:
        return Error(absl::StrFormat("unsupported pickle opcode 0x%02x", op));
    }
    if (!s.ok()) return s;
    if (stack_.size() > static_cast<size_t>(limits_.max_pickle_values))
      return Error("stack too deep");
  }
}

// The state dict inside the unpickled value: a dict of tensors, or a checkpoint dict holding one
// under "state_dict" or "model".
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

}  // namespace

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
  absl::StatusOr<std::vector<ZipEntry>> entries = ReadZip(data, source, limits);
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
  absl::StatusOr<const Value*> dict = FindStateDict(**root, source);
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
