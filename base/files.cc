#include "base/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"

namespace malaria::base {
namespace {

namespace fs = std::filesystem;

absl::Status ErrnoError(absl::string_view what, const std::string& path, int err) {
  const std::string message = absl::StrCat(what, " ", path, ": ", std::strerror(err));
  if (err == ENOENT) return absl::NotFoundError(message);
  if (err == EACCES || err == EPERM) return absl::PermissionDeniedError(message);
  if (err == EFBIG) {
    return absl::ResourceExhaustedError(
        absl::StrCat(message, " (the file-size limit, ulimit -f, was reached)"));
  }
  if (err == ENOSPC || err == EDQUOT) return absl::ResourceExhaustedError(message);
  return absl::InternalError(message);
}

}  // namespace

absl::Status WriteFileAtomically(const std::string& path, absl::string_view contents) {
  static std::atomic<uint64_t> counter{0};
  const std::string tmp =
      absl::StrCat(path, ".tmp.", ::getpid(), ".", counter.fetch_add(1, std::memory_order_relaxed));
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("cannot create", tmp, errno);
  const char* data = contents.data();
  size_t left = contents.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, data, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return ErrnoError("cannot write", path, err);
    }
    data += n;
    left -= static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return ErrnoError("cannot flush", path, err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return ErrnoError("cannot rename into", path, err);
  }
  return absl::OkStatus();
}

int RemoveTemporaryFiles(const std::string& dir) {
  namespace fs = std::filesystem;
  int removed = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code fe;
    if (it->is_symlink(fe) || !it->is_regular_file(fe)) continue;
    if (IsTemporaryFileName(it->path().filename().string()) && fs::remove(it->path(), fe)) {
      ++removed;
    }
  }
  return removed;
}

bool IsTemporaryFileName(const std::string& name) {
  // <name>.tmp.<pid>.<n> (WriteFileAtomically) or <name>.emergency (the second-interrupt record).
  if (name.size() > 10 && name.compare(name.size() - 10, 10, ".emergency") == 0) return true;
  const size_t tmp = name.rfind(".tmp.");
  if (tmp == std::string::npos) return false;
  const std::string rest = name.substr(tmp + 5);
  const size_t dot = rest.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == rest.size()) return false;
  for (size_t i = 0; i < rest.size(); ++i) {
    if (i != dot && !std::isdigit(static_cast<unsigned char>(rest[i]))) return false;
  }
  return true;
}

absl::Status RequireRegularFile(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return ErrnoError("cannot open", path, errno);
  if (S_ISREG(st.st_mode)) return absl::OkStatus();
  const char* kind = S_ISDIR(st.st_mode)                          ? "a folder"
                     : S_ISFIFO(st.st_mode)                       ? "a pipe"
                     : S_ISSOCK(st.st_mode)                       ? "a socket"
                     : S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device"
                                                                  : "not a regular file";
  return absl::InvalidArgumentError(absl::StrCat(path, " is ", kind, ", not a file"));
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  if (absl::Status s = RequireRegularFile(path); !s.ok()) return s;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("cannot open", path, errno);
  std::string out;
  char buffer[1 << 16];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return ErrnoError("cannot read", path, err);
    }
    out.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

absl::Status MakeDirs(const std::string& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec)
    return absl::InternalError(absl::StrCat("cannot create folder ", path, ": ", ec.message()));
  return absl::OkStatus();
}

bool PathExists(const std::string& path) {
  std::error_code ec;
  return fs::exists(path, ec);
}

bool IsDirectory(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(path, ec);
}

std::string JoinPath(absl::string_view a, absl::string_view b) {
  if (a.empty() || (!b.empty() && b.front() == '/')) return std::string(b);
  if (b.empty()) return std::string(a);
  if (a.back() == '/') return absl::StrCat(a, b);
  return absl::StrCat(a, "/", b);
}

std::string FindWorkspace(const std::string& start) {
  std::error_code ec;
  fs::path p = fs::absolute(start.empty() ? "." : start, ec).lexically_normal();
  if (!fs::is_directory(p, ec)) p = p.parent_path();
  for (; !p.empty(); p = p.parent_path()) {
    if (fs::is_regular_file(p / "WORKSPACE", ec)) return p.string();
    if (p == p.root_path()) break;
  }
  return "";
}

std::string BinaryWorkspace() {
  std::error_code ec;
  const fs::path exe = fs::canonical("/proc/self/exe", ec);
  if (ec) return "";
  const std::string found = FindWorkspace(exe.parent_path().string());
  if (found.empty()) return "";
  const fs::path real = fs::canonical(fs::path(found) / "WORKSPACE", ec);
  return ec ? "" : real.parent_path().string();
}

std::string WorkspaceDir() {
  if (const char* w = std::getenv("BUILD_WORKSPACE_DIRECTORY"); w != nullptr && *w != '\0') {
    return w;
  }
  std::error_code ec;
  const std::string cwd = fs::current_path(ec).string();
  const std::string found = FindWorkspace(cwd);
  return found.empty() ? cwd : found;
}

absl::StatusOr<std::string> ResolveOutputFile(const std::string& flag, const std::string& path) {
  const std::string resolved = ResolveUserPath(path);
  const std::string folder = fs::path(resolved).parent_path().string();
  if (!IsDirectory(folder.empty() ? "." : folder)) {
    return absl::NotFoundError(
        absl::StrCat(flag, " ", resolved, ": folder ", folder, " does not exist"));
  }
  if (IsDirectory(resolved)) {
    return absl::InvalidArgumentError(absl::StrCat(flag, " ", resolved, " is a folder"));
  }
  return resolved;
}

std::string ResolveUserPath(const std::string& path) {
  if (path.empty() || path.front() == '/') return path;
  const char* cwd = std::getenv("BUILD_WORKING_DIRECTORY");
  if (cwd != nullptr && *cwd != '\0') return fs::path(JoinPath(cwd, path)).lexically_normal();
  std::error_code ec;
  return fs::absolute(path, ec).lexically_normal();
}

}  // namespace malaria::base
