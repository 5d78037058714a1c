// One error boundary for every program: main() hands its work to RunMain, which turns the outcome
// (an exit status, an error status, or any exception that escaped) into a clear message and the
// documented exit status, so no program ends in "terminate called after throwing ...".
//
//   int main(int argc, char** argv) {
//     return malaria::base::RunMain(argc, argv, [](int argc, char** argv) -> absl::StatusOr<int> {
//       RETURN_IF_ERROR(CheckTheInput(...));     // an error: "ERROR: <message>", exit 2
//       ... writes its first file ...
//       RETURN_IF_ERROR(base::AfterWriting(DoTheWork(...)));   // an error: exit 1
//       return malaria::base::kExitOk;
//     });
//   }
//
// Exit statuses, the same for every program of the platform:
//   0    done
//   1    failed while working (run_experiment records it in the run), or an unexpected error
//   2    nothing was done: a bad argument, config field, file, folder or run directory, found
//        before anything was written; the message names it
//   130  interrupted (Ctrl-C or SIGTERM; run_experiment records it in the run)
#ifndef MALARIA_BASE_MAIN_H_
#define MALARIA_BASE_MAIN_H_

#include <exception>
#include <functional>
#include <string>

#include "absl/status/statusor.h"

namespace malaria::base {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitBadInput = 2;
inline constexpr int kExitInterrupted = 130;

// AfterWriting marks `status` (when it is an error) as found after the program wrote something,
// so RunMain exits with kExitFailed rather than kExitBadInput. OK stays OK.
absl::Status AfterWriting(absl::Status status);

// IsAfterWriting reports whether AfterWriting marked `status`.
bool IsAfterWriting(const absl::Status& status);

// RunMain initialises logging (glog, to stderr), runs `body` and returns the exit status: the one
// `body` returns; after printing "ERROR: <message>" for an error status, kExitBadInput, or
// kExitFailed when AfterWriting marked it; kExitFailed
// after printing "ERROR: unexpected error: <what>" for an exception (LibTorch's c10::Error without
// its C++ backtrace, std::bad_alloc as "out of memory"). Standard output is flushed in every case,
// so lines already printed are never lost.
int RunMain(int argc, char** argv, const std::function<absl::StatusOr<int>(int, char**)>& body);

// ExceptionMessage returns what `e` says, without the C++ backtrace LibTorch appends to its
// errors, and "out of memory" for std::bad_alloc.
std::string ExceptionMessage(const std::exception& e);

}  // namespace malaria::base

#endif  // MALARIA_BASE_MAIN_H_
