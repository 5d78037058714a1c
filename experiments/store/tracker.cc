#include "experiments/store/tracker.h"

#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/files.h"
#include "base/interrupt.h"
#include "base/shell.h"
#include "base/text_proto.h"
#include "experiments/config.h"
#include "google/protobuf/text_format.h"

namespace malaria::experiments {
namespace {}  // namespace

absl::StatusOr<RunInfo> ReadRunInfo(const RunDirectory& run) {
  const std::string path = run.File("run_info.pbtxt");
  absl::StatusOr<std::string> text = base::ReadFile(path);
  if (!text.ok()) return absl::NotFoundError(absl::StrCat(path, ": ", text.status().message()));
  RunInfo info;
  if (absl::Status parsed = base::ParseTextProto(*text, path, &info); !parsed.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat(path,
                     " cannot be read by this version of the platform (written by another "
                     "version, or damaged): ",
                     parsed.message()));
  }
  if (!info.has_status() || info.status() == RunInfo::STATUS_UNSPECIFIED) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " records no status (empty, or a write cut short): not a run's record"));
  }
  return info;
}

std::string IsoTime(std::time_t t) {
  std::tm tm;
  gmtime_r(&t, &tm);
  return absl::StrFormat("%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

absl::StatusOr<RunDirectory> RunDirectory::Create(const std::string& root,
                                                  const std::string& experiment, std::time_t now) {
  if (now == 0) now = std::time(nullptr);
  const std::string parent = base::JoinPath(root, experiment);
  if (absl::Status s = base::MakeDirs(parent); !s.ok()) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create the run tracker folder ", parent, ": ", s.message()));
  }
  std::tm tm;
  gmtime_r(&now, &tm);
  const std::string stamp =
      absl::StrFormat("%04d%02d%02d-%02d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                      tm.tm_hour, tm.tm_min, tm.tm_sec);
  for (int attempt = 1; attempt < 10000; ++attempt) {
    const std::string id = attempt == 1 ? stamp : absl::StrCat(stamp, "-", attempt);
    const std::string path = base::JoinPath(parent, id);
    if (::mkdir(path.c_str(), 0755) == 0) {
      RunDirectory run;
      run.path_ = path;
      run.id_ = id;
      return run;
    }
    if (errno != EEXIST) {
      return absl::PermissionDeniedError(
          absl::StrCat("cannot create run directory ", path, ": ", std::strerror(errno)));
    }
  }
  return absl::ResourceExhaustedError(absl::StrCat("too many runs in one second under ", parent));
}

RunDirectory RunDirectory::Open(const std::string& path) {
  RunDirectory run;
  run.path_ = path;
  run.id_ = std::filesystem::path(path).filename().string();
  return run;
}

std::string RunDirectory::File(const std::string& name) const {
  return base::JoinPath(path_, name);
}

absl::Status RunDirectory::WriteFile(const std::string& name, const std::string& contents) const {
  const std::string path = File(name);
  const std::string folder = std::filesystem::path(path).parent_path().string();
  if (folder != path_) {
    if (absl::Status s = base::MakeDirs(folder); !s.ok()) return s;
  }
  return base::WriteFileAtomically(path, contents);
}

absl::Status RunDirectory::WriteProto(const std::string& name,
                                      const google::protobuf::Message& message) const {
  return WriteFile(name, ToText(message));
}

std::string HostName() {
  char host[256] = {0};
  return ::gethostname(host, sizeof(host) - 1) == 0 ? std::string(host) : std::string();
}

Provenance GatherProvenance(const std::string& workspace) {
  Provenance p;
  bool ok = false;
  const std::string git = "git -C " + base::ShellQuote(workspace);
  const std::string commit = base::CaptureCommand(git + " rev-parse HEAD 2>/dev/null", &ok);
  if (ok) {
    p.git_commit = std::string(absl::StripAsciiWhitespace(commit));
    const std::string status =
        base::CaptureCommand(git + " status --porcelain --untracked-files=no 2>/dev/null", &ok);
    p.git_dirty = ok && !absl::StripAsciiWhitespace(status).empty();
  }
  p.host = HostName();
  if (const char* user = std::getenv("USER"); user != nullptr && *user) {
    p.user = user;
  } else if (const passwd* pw = ::getpwuid(::getuid()); pw != nullptr) {
    p.user = pw->pw_name;
  }
  return p;
}

bool ProcessAlive(int64_t pid) {
  return pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
}

absl::Status WriteRunInfo(const RunDirectory& run, const RunInfo& info) {
  if (absl::Status s = run.WriteProto("run_info.pbtxt", info); !s.ok()) return s;
  if (info.status() != RunInfo::RUNNING) {
    base::SetEmergencyRecord("", "");
    return absl::OkStatus();
  }
  RunInfo stopped = info;
  stopped.set_status(RunInfo::INTERRUPTED);
  // Where --resume continues: after the last epoch whose checkpoint is on disk.
  std::string after = "from the start (no epoch's checkpoint was saved)";
  for (const StageSummary& s : info.stage()) {
    if (s.epochs_completed() > 0) {
      after = absl::StrCat("after epoch ", s.epochs_completed(), " of stage ", s.name());
    }
  }
  stopped.set_reason(absl::StrCat(
      "stopped at once by a second interrupt (Ctrl-C or SIGTERM); --resume continues ", after));
  std::string text;
  google::protobuf::TextFormat::PrintToString(stopped, &text);
  base::SetEmergencyRecord(run.File("run_info.pbtxt"), text);
  return absl::OkStatus();
}

}  // namespace malaria::experiments
