#include "experiments/sweep/trial_claim.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "base/files.h"
#include "experiments/store/tracker.h"

namespace malaria::experiments {

std::string TrialClaimPath(const std::string& root, const std::string& name, int trial, int fold) {
  return base::JoinPath(root,
                        absl::StrFormat("sweeps/%s.claims/t%03d-f%d.lock", name, trial, fold));
}

absl::StatusOr<std::unique_ptr<TrialClaim>> TrialClaim::TryClaim(const std::string& root,
                                                                 const std::string& name, int trial,
                                                                 int fold, std::string* holder) {
  const std::string path = TrialClaimPath(root, name, trial, fold);
  const std::string folder = path.substr(0, path.rfind('/'));
  if (absl::Status s = base::MakeDirs(folder); !s.ok()) return s;
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot open the claim file ", path, ": ", std::strerror(errno)));
  }
  struct flock lock = {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  if (::fcntl(fd, F_SETLK, &lock) != 0) {
    const int error = errno;
    if (error == EACCES || error == EAGAIN) {
      if (holder != nullptr) {
        char buffer[256] = {};
        const ssize_t n = ::pread(fd, buffer, sizeof(buffer) - 1, 0);
        *holder = n > 0 ? std::string(absl::StripAsciiWhitespace(buffer)) : "another process";
      }
      ::close(fd);
      return std::unique_ptr<TrialClaim>();
    }
    ::close(fd);
    return absl::FailedPreconditionError(
        absl::StrCat("cannot lock the claim file ", path, ": ", std::strerror(error),
                     " (the tracker root's file system must support fcntl locks)"));
  }
  const std::string who = absl::StrFormat("process %d on %s since %s\n", ::getpid(), HostName(),
                                          IsoTime(std::time(nullptr)));
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, who.data(), who.size(), 0) < 0) {
    // Only the note for people is lost; the lock holds.
  }
  return std::unique_ptr<TrialClaim>(new TrialClaim(fd, path));
}

TrialClaim::~TrialClaim() { ::close(fd_); }

}  // namespace malaria::experiments
