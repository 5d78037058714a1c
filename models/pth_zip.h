// The zip container of torch.save files, read as untrusted input (models/pth_reader.h's first
// layer): stored entries only, as torch.save writes them, ZIP64 understood, every size and offset
// checked against the file. Also the bounds-checked little-endian cursor the pickle machine
// (models/pth_unpickler.h) reads with. Internal to //models:pth_reader.
//
//   absl::StatusOr<std::vector<ZipEntry>> entries = ReadZip(bytes, "x.pth", limits);
#ifndef MALARIA_MODELS_PTH_ZIP_H_
#define MALARIA_MODELS_PTH_ZIP_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "models/pth_reader.h"

namespace malaria::models::pth {

// Bounds-checked little-endian reading: every read says whether the bytes were there.
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

struct ZipEntry {
  std::string name;
  uint64_t offset = 0;  // of the data
  uint64_t size = 0;
};

// ReadZip returns the entries of the zip archive `data` (`source` names it in errors), at most
// limits.max_zip_entries. InvalidArgument for what is not a torch.save zip (naming the problem: a
// legacy pre-1.6 file, compressed or encrypted entries, multi-volume archives); DataLoss for an
// entry that runs past the end of the file.
absl::StatusOr<std::vector<ZipEntry>> ReadZip(absl::string_view data, const std::string& source,
                                              const PthLimits& limits);

}  // namespace malaria::models::pth

#endif  // MALARIA_MODELS_PTH_ZIP_H_
