// What the GPU checks in tools/device share: a failure count, one printed line per check, and the
// relative difference they compare with. Header-only: tools/device/cuda_check.sh compiles the
// checks with g++ outside Bazel.
#ifndef MALARIA_TOOLS_DEVICE_CHECK_H_
#define MALARIA_TOOLS_DEVICE_CHECK_H_

#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/status/statusor.h"

namespace malaria::device_check {

inline int failures = 0;

// Check prints "OK" or "FAIL", what was checked and `detail`, and counts a failure.
inline void Check(const std::string& what, bool ok, const std::string& detail) {
  failures += !ok;
  std::printf("%-4s %-66s %s\n", ok ? "OK" : "FAIL", what.c_str(), detail.c_str());
  std::fflush(stdout);
}

// CheckClose: a difference within a tolerance.
inline void CheckClose(const std::string& what, double error, double tolerance) {
  char detail[96];
  std::snprintf(detail, sizeof(detail), "max relative difference %.2e (tolerance %.0e)", error,
                tolerance);
  Check(what, error <= tolerance, detail);
}

// Must stops the check program with the error when a collective (or anything returning a status)
// fails; Must(statusor) returns the value.
inline void Must(const absl::Status& s) {
  if (s.ok()) return;
  std::fprintf(stderr, "FAIL %s\n", std::string(s.message()).c_str());
  std::exit(1);
}
template <typename T>
T Must(absl::StatusOr<T> s) {
  Must(s.status());
  return *std::move(s);
}

// Relative: the largest difference between a and b (on any devices) over b's largest value.
inline double Relative(const torch::Tensor& a, const torch::Tensor& b) {
  const torch::Tensor x = a.cpu(), y = b.cpu();
  return ((x - y).abs().max() / y.abs().max().clamp_min(1e-12)).item<double>();
}

}  // namespace malaria::device_check

#endif  // MALARIA_TOOLS_DEVICE_CHECK_H_
