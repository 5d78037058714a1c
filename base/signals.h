// Stop signals (Ctrl-C, SIGTERM, a closed terminal's SIGHUP) as requests, one mechanism for every
// program: a sigaction handler counts each arrival, records which signal it was, writes its number
// to a self-pipe and calls the program's async-signal-safe hook. The runner's interrupt
// (base/interrupt.h) is a hook; the launcher polls the count; the dashboard's watcher thread
// reads the pipe.
//
//   InstallStopSignals({SIGINT, SIGTERM});
//   while (StopSignalCount() == 0) DoWork();
//   // or: a thread blocks in read(StopSignalPipe(), ...) until a signal arrives.
//
// Handlers are installed, not inherited (a shell starts background jobs with SIGINT ignored), with
// SA_RESTART so interrupted system calls resume.
#ifndef MALARIA_BASE_SIGNALS_H_
#define MALARIA_BASE_SIGNALS_H_

#include <initializer_list>

namespace malaria::base {

// A hook the handler calls after counting: `count` is how many stop signals have arrived, this
// one included. It runs inside the signal handler: only async-signal-safe calls.
using StopSignalHook = void (*)(int signal, int count);

// InstallStopSignals makes each of `signals` a stop request (see above), calling `hook` when not
// null. A second call replaces the signals' handlers and the hook; the count carries on.
void InstallStopSignals(std::initializer_list<int> signals, StopSignalHook hook = nullptr);

// StopSignalCount returns how many stop signals have arrived since the start (or the last
// ResetStopSignals).
int StopSignalCount();

// LastStopSignal returns the number of the last stop signal that arrived, 0 if none.
int LastStopSignal();

// StopSignalPipe returns the read end of the self-pipe (created by the first InstallStopSignals,
// -1 before): one byte, the signal's number, per arrival.
int StopSignalPipe();

// WakeStopSignalPipe writes a 0 byte to the self-pipe, so a thread blocked reading it wakes up
// without a signal (a server that stopped on its own).
void WakeStopSignalPipe();

// ResetStopSignals sets the count and the last signal back to 0 (tests).
void ResetStopSignals();

}  // namespace malaria::base

#endif  // MALARIA_BASE_SIGNALS_H_
