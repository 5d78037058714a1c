// File helpers shared by every package (the base package sits below all others): atomic writes,
// whole-file reads, folder creation.
//
// Everything a run writes goes through WriteFileAtomically, so a run killed at any moment leaves
// either the old or the new version of each file, never half of one.
//
//   RETURN_IF_ERROR(base::WriteFileAtomically(run_dir + "/metrics.csv", csv));
//   absl::StatusOr<std::string> text = base::ReadFile(config_path);
#ifndef MALARIA_BASE_FILES_H_
#define MALARIA_BASE_FILES_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace malaria::base {

// WriteFileAtomically writes `contents` to a temporary file beside `path`, flushes it to disk and
// renames it over `path`. Returns an error naming `path` if any step fails; `path` is then
// untouched.
absl::Status WriteFileAtomically(const std::string& path, absl::string_view contents);

// ReadFile returns the whole file. NotFound if it does not exist; InvalidArgument, naming it, when
// it is a folder, pipe, socket or device (RequireRegularFile); another error naming it otherwise.
absl::StatusOr<std::string> ReadFile(const std::string& path);

// IsTemporaryFileName reports whether `name` is a temporary file this platform writes on the way
// to a file: WriteFileAtomically's <name>.tmp.<pid>.<n>, or a second interrupt's <name>.emergency.
bool IsTemporaryFileName(const std::string& name);

// RemoveTemporaryFiles removes every such file below `dir` (a process killed while writing leaves
// them; nothing else names them) and returns how many. Symbolic links are not followed.
int RemoveTemporaryFiles(const std::string& dir);

// RequireRegularFile returns OK when `path` is a regular file (following symlinks), NotFound when
// nothing is there, and InvalidArgument saying what it is ("x is a folder, not a file") otherwise.
absl::Status RequireRegularFile(const std::string& path);

// MakeDirs creates `path` and its missing parents (like mkdir -p).
absl::Status MakeDirs(const std::string& path);

// PathExists reports whether anything exists at `path`.
bool PathExists(const std::string& path);

// IsDirectory reports whether `path` is a folder (following symlinks).
bool IsDirectory(const std::string& path);

// JoinPath joins two path parts with one '/'; an absolute `b` replaces `a`.
std::string JoinPath(absl::string_view a, absl::string_view b);

// WorkspaceDir returns $BUILD_WORKSPACE_DIRECTORY when set (bazel run), else the workspace the
// current folder is in (FindWorkspace), else the current folder.
std::string WorkspaceDir();

// FindWorkspace returns the nearest folder at or above `start` (a file or a folder; relative to
// the current folder) that holds a Bazel WORKSPACE file, absolute; "" when there is none.
std::string FindWorkspace(const std::string& start);

// BinaryWorkspace returns the source workspace of the running program: Bazel's execroot, where the
// program was built, links its WORKSPACE file back to it. "" when not found (a copied binary).
std::string BinaryWorkspace();

// ResolveUserPath makes a relative path absolute against the folder the user started the command
// in: $BUILD_WORKING_DIRECTORY under `bazel run`, else the current folder. "" stays "".
std::string ResolveUserPath(const std::string& path);

// ResolveOutputFile resolves `path` (ResolveUserPath) for a file a tool is about to write, before
// it reads anything: NotFound when its folder does not exist, InvalidArgument when it is a folder;
// messages start with `flag` ("--out /x/y.png: folder /x does not exist").
absl::StatusOr<std::string> ResolveOutputFile(const std::string& flag, const std::string& path);

}  // namespace malaria::base

#endif  // MALARIA_BASE_FILES_H_
