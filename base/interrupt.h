// Ctrl-C and SIGTERM as a request, not a crash: the handler only sets a flag (and says what will
// happen); the training loop checks it after each batch, saves what it has and returns a Cancelled
// status. A second signal stops the process at once, after writing the run's record prepared
// for that moment, so even then the run is marked INTERRUPTED and can be resumed.
//
//   InstallInterruptHandler();
//   SetEmergencyRecord(run_dir + "/run_info.pbtxt", text_with_status_interrupted);
//   ... if (InterruptRequested()) { save; return absl::CancelledError("interrupted"); }
#ifndef MALARIA_BASE_INTERRUPT_H_
#define MALARIA_BASE_INTERRUPT_H_

#include <string>

namespace malaria::base {

// InstallInterruptHandler makes SIGINT and SIGTERM set the interrupt flag and print, on stderr,
// that the run stops after the current batch and that a second Ctrl-C stops it at once. A second
// signal while the flag is set writes the emergency record (if one is set), says so, restores the
// default action and re-raises, so a stuck run can still be stopped.
void InstallInterruptHandler();

// InterruptRequested reports whether a signal arrived (or RequestInterrupt was called).
bool InterruptRequested();

// RequestInterrupt sets the flag (tests use it); ClearInterrupt resets it.
void RequestInterrupt();
void ClearInterrupt();

// InterruptSignal returns the signal that set the flag (0 when none or set by RequestInterrupt).
int InterruptSignal();

// SetEmergencyRecord keeps `contents` to be written to `path` (atomically: a temporary file, then
// rename) if a second signal stops the process at once. Each call replaces the previous record;
// an empty path clears it. Not for concurrent callers: one thread (the trainer's) keeps it.
void SetEmergencyRecord(const std::string& path, const std::string& contents);

}  // namespace malaria::base

#endif  // MALARIA_BASE_INTERRUPT_H_
