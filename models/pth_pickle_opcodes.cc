// Unpickler::Run: the pickle opcodes torch.save writes (protocol 2), one case each; anything
// else is refused.
#include "absl/strings/str_format.h"
#include "models/pth_unpickler.h"

namespace malaria::models::pth {

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

}  // namespace malaria::models::pth
