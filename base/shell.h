// Running a shell command and quoting its arguments, for the tools that ask other programs (git
// for a run's provenance, sbatch for a sweep's job array).
//
//   bool ok;
//   std::string out = CaptureCommand("git -C " + ShellQuote(dir) + " rev-parse HEAD", &ok);
#ifndef MALARIA_BASE_SHELL_H_
#define MALARIA_BASE_SHELL_H_

#include <string>

namespace malaria::base {

// CaptureCommand runs `command` with /bin/sh and returns its standard output; *ok says whether it
// exited with status 0 (false, with what it printed, when it could not be started or failed).
std::string CaptureCommand(const std::string& command, bool* ok);

// ShellQuote returns `s` quoted for /bin/sh: in single quotes, each ' written as '\''.
std::string ShellQuote(const std::string& s);

}  // namespace malaria::base

#endif  // MALARIA_BASE_SHELL_H_
