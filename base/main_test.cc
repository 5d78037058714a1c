#include "base/main.h"

#include <cstdio>
#include <new>
#include <stdexcept>
#include <string>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace malaria::base {
namespace {

char kProgram[] = "program";
char* kArgv[] = {kProgram, nullptr};

// Runs `body` through RunMain; returns the exit status and what went to stderr.
std::pair<int, std::string> RunBody(const std::function<absl::StatusOr<int>(int, char**)>& body) {
  testing::internal::CaptureStderr();
  const int code = RunMain(1, kArgv, body);
  return {code, testing::internal::GetCapturedStderr()};
}

TEST(RunMainTest, ReturnsTheBodysExitStatus) {
  EXPECT_EQ(RunBody([](int, char**) -> absl::StatusOr<int> { return kExitOk; }).first, 0);
  EXPECT_EQ(RunBody([](int, char**) -> absl::StatusOr<int> { return kExitInterrupted; }).first,
            130);
}

TEST(RunMainTest, AnErrorStatusIsBadInputWithItsMessage) {
  const auto [code, err] = RunBody([](int, char**) -> absl::StatusOr<int> {
    return absl::NotFoundError("data.path: folder /x does not exist");
  });
  EXPECT_EQ(code, kExitBadInput);
  EXPECT_EQ(err, "ERROR: data.path: folder /x does not exist\n");
}

// An error found after the program wrote something is a failure (1), not bad input (2).
TEST(RunMainTest, AnErrorAfterWritingIsAFailure) {
  const auto [code, err] = RunBody([](int, char**) -> absl::StatusOr<int> {
    return AfterWriting(absl::ResourceExhaustedError("cannot write out/report.png: disk full"));
  });
  EXPECT_EQ(code, kExitFailed);
  EXPECT_EQ(err, "ERROR: cannot write out/report.png: disk full\n");
  EXPECT_TRUE(AfterWriting(absl::OkStatus()).ok());
  EXPECT_FALSE(IsAfterWriting(absl::NotFoundError("x")));
}

TEST(RunMainTest, AnyExceptionBecomesAClearMessageAndStatusOne) {
  const auto [code, err] = RunBody([](int, char**) -> absl::StatusOr<int> {
    throw std::runtime_error("rank 1: the loss all-reduce failed");
  });
  EXPECT_EQ(code, kExitFailed);
  EXPECT_EQ(err, "ERROR: unexpected error: rank 1: the loss all-reduce failed\n");
  EXPECT_EQ(RunBody([](int, char**) -> absl::StatusOr<int> { throw std::bad_alloc(); }).second,
            "ERROR: unexpected error: out of memory\n");
  EXPECT_EQ(RunBody([](int, char**) -> absl::StatusOr<int> { throw 7; }).first, kExitFailed);
}

TEST(RunMainTest, LibTorchBacktracesAreCut) {
  // What c10::Error::what() looks like: the message, then where it was raised and the frames.
  const std::runtime_error e(
      "Expected 4-dimensional input for 4-dimensional weight\nException raised from "
      "_convolution at ../aten/src/ATen/native/Convolution.cpp:123 (most recent call first):\n"
      "frame #0: c10::Error::Error(...) + 0x8f\n");
  EXPECT_EQ(ExceptionMessage(e), "Expected 4-dimensional input for 4-dimensional weight");
}

}  // namespace
}  // namespace malaria::base
