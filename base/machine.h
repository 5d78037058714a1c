// What this machine can hold, for the checks that refuse work it cannot do before it starts.
//
//   if (bytes > base::MemoryLimitBytes()) ... base::MemoryLimitText() ...
#ifndef MALARIA_BASE_MACHINE_H_
#define MALARIA_BASE_MACHINE_H_

#include <string>

namespace malaria::base {

// MemoryLimitBytes returns the memory a process of this machine may use: its physical memory,
// or the process's address-space limit (ulimit -v) when that is lower.
double MemoryLimitBytes();

// MemoryLimitText says what MemoryLimitBytes is: "this machine's 23.4 GiB of memory", or "the
// process's address-space limit (ulimit -v) of 3.0 GiB".
std::string MemoryLimitText();

}  // namespace malaria::base

#endif  // MALARIA_BASE_MACHINE_H_
