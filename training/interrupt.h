// Ctrl-C and SIGTERM as a request, not a crash: the handler only sets a flag, the training loop
// checks it after each batch, saves what it has and returns a Cancelled status.
//
//   InstallInterruptHandler();
//   ... if (InterruptRequested()) { save; return absl::CancelledError("interrupted"); }
#ifndef MALARIA_TRAINING_INTERRUPT_H_
#define MALARIA_TRAINING_INTERRUPT_H_

namespace malaria::training {

// InstallInterruptHandler makes SIGINT and SIGTERM set the interrupt flag. A second signal while
// the flag is set restores the default action and re-raises, so a stuck run can still be killed.
void InstallInterruptHandler();

// InterruptRequested reports whether a signal arrived (or RequestInterrupt was called).
bool InterruptRequested();

// RequestInterrupt sets the flag (tests use it); ClearInterrupt resets it.
void RequestInterrupt();
void ClearInterrupt();

// InterruptSignal returns the signal that set the flag (0 when none or set by RequestInterrupt).
int InterruptSignal();

}  // namespace malaria::training

#endif  // MALARIA_TRAINING_INTERRUPT_H_
