#include "models/pth_zip.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace malaria::models::pth {
namespace {

constexpr uint32_t kEocdSignature = 0x06054b50;
constexpr uint32_t kZip64LocatorSignature = 0x07064b50;
constexpr uint32_t kZip64EocdSignature = 0x06064b50;
constexpr uint32_t kCentralSignature = 0x02014b50;
constexpr uint32_t kLocalSignature = 0x04034b50;

}  // namespace

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

}  // namespace malaria::models::pth
