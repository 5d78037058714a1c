#include "base/machine.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>

#include "absl/strings/str_format.h"

namespace malaria::base {
namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

double PhysicalBytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0 ? double(pages) * double(page) : 0;
}

double AddressSpaceBytes() {
  rlimit limit;
  if (::getrlimit(RLIMIT_AS, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return 0;
  return double(limit.rlim_cur);
}

}  // namespace

double MemoryLimitBytes() {
  const double physical = PhysicalBytes(), space = AddressSpaceBytes();
  if (physical <= 0) return space;
  return space > 0 ? std::min(physical, space) : physical;
}

std::string MemoryLimitText() {
  const double physical = PhysicalBytes(), space = AddressSpaceBytes();
  if (space > 0 && (physical <= 0 || space < physical)) {
    return absl::StrFormat("the process's address-space limit (ulimit -v) of %.1f GiB",
                           space / kGiB);
  }
  return absl::StrFormat("this machine's %.1f GiB of memory", physical / kGiB);
}

}  // namespace malaria::base
