#include "base/main.h"

#include <cstdio>
#include <new>

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

int RunMain(int argc, char** argv, const std::function<absl::StatusOr<int>(int, char**)>& body) {
  if (!google::IsGoogleLoggingInitialized()) google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  int code = kExitFailed;
  try {
    const absl::StatusOr<int> result = body(argc, argv);
    if (result.ok()) {
      code = *result;
    } else {
      std::fflush(stdout);
      absl::FPrintF(stderr, "ERROR: %s\n", result.status().message());
      code = kExitBadInput;
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
