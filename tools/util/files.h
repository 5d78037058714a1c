// File helpers shared by every package: atomic writes, whole-file reads, folder creation.
//
// Everything a run writes goes through WriteFileAtomically, so a run killed at any moment leaves
// either the old or the new version of each file, never half of one.
//
//   RETURN_IF_ERROR(util::WriteFileAtomically(run_dir + "/metrics.csv", csv));
//   absl::StatusOr<std::string> text = util::ReadFile(config_path);
#ifndef MALARIA_TOOLS_UTIL_FILES_H_
#define MALARIA_TOOLS_UTIL_FILES_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace malaria::util {

// WriteFileAtomically writes `contents` to a temporary file beside `path`, flushes it to disk and
// renames it over `path`. Returns an error naming `path` if any step fails; `path` is then
// untouched.
absl::Status WriteFileAtomically(const std::string& path, absl::string_view contents);

// ReadFile returns the whole file. NotFound if it does not exist, an error naming it otherwise.
absl::StatusOr<std::string> ReadFile(const std::string& path);

// MakeDirs creates `path` and its missing parents (like mkdir -p).
absl::Status MakeDirs(const std::string& path);

// PathExists reports whether anything exists at `path`.
bool PathExists(const std::string& path);

// IsDirectory reports whether `path` is a folder (following symlinks).
bool IsDirectory(const std::string& path);

// JoinPath joins two path parts with one '/'; an absolute `b` replaces `a`.
std::string JoinPath(absl::string_view a, absl::string_view b);

// ResolveUserPath makes a relative path absolute against the folder the user started the command
// in: $BUILD_WORKING_DIRECTORY under `bazel run`, else the current folder. "" stays "".
std::string ResolveUserPath(const std::string& path);

}  // namespace malaria::util

#endif  // MALARIA_TOOLS_UTIL_FILES_H_
