#include "base/main.h"

#include <csignal>
#include <cstdio>
#include <new>

#include "absl/strings/cord.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "glog/logging.h"

namespace malaria::base {

std::string ExceptionMessage(const std::exception& e) {
  if (dynamic_cast<const std::bad_alloc*>(&e) != nullptr) return "out of memory";
  std::string what = e.what();
  // c10::Error::what() is the message, then "Exception raised from <function> at <file>" and the
  // frames of a C++ backtrace: the user needs the message.
  if (const size_t at = what.find("\nException raised from "); at != std::string::npos) {
    what.resize(at);
  }
  return std::string(absl::StripTrailingAsciiWhitespace(what));
}

namespace {
constexpr char kAfterWritingPayload[] = "malaria/after_writing";
}  // namespace

absl::Status AfterWriting(absl::Status status) {
  if (!status.ok()) status.SetPayload(kAfterWritingPayload, absl::Cord("1"));
  return status;
}

bool IsAfterWriting(const absl::Status& status) {
  return status.GetPayload(kAfterWritingPayload).has_value();
}

int RunMain(int argc, char** argv, const std::function<absl::StatusOr<int>(int, char**)>& body) {
  if (!google::IsGoogleLoggingInitialized()) google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  // A file-size limit (ulimit -f) makes the write fail with EFBIG, as a full disk does, instead of
  // killing the process mid-write: the program reports it and removes its temporary file.
  std::signal(SIGXFSZ, SIG_IGN);
  int code = kExitFailed;
  try {
    const absl::StatusOr<int> result = body(argc, argv);
    if (result.ok()) {
      code = *result;
    } else {
      std::fflush(stdout);
      absl::FPrintF(stderr, "ERROR: %s\n", result.status().message());
      code = IsAfterWriting(result.status()) ? kExitFailed : kExitBadInput;
    }
  } catch (const std::exception& e) {
    std::fflush(stdout);
    absl::FPrintF(stderr, "ERROR: unexpected error: %s\n", ExceptionMessage(e));
    code = kExitFailed;
  } catch (...) {
    std::fflush(stdout);
    absl::FPrintF(stderr, "ERROR: unexpected error of an unknown kind\n");
    code = kExitFailed;
  }
  std::fflush(stdout);
  std::fflush(stderr);
  return code;
}

}  // namespace malaria::base
