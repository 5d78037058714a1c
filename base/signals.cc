#include "base/signals.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

namespace malaria::base {
namespace {

std::atomic<int> g_count{0};
std::atomic<int> g_last{0};
std::atomic<StopSignalHook> g_hook{nullptr};
int g_pipe[2] = {-1, -1};

void WriteByte(unsigned char byte) {
  if (g_pipe[1] < 0) return;
  const ssize_t ignored = ::write(g_pipe[1], &byte, 1);  // full pipe: the count still says it
  (void)ignored;
}

void Handle(int signal) {
  const int saved_errno = errno;
  const int count = g_count.fetch_add(1) + 1;
  g_last.store(signal);
  WriteByte(static_cast<unsigned char>(signal));
  if (StopSignalHook hook = g_hook.load(); hook != nullptr) hook(signal, count);
  errno = saved_errno;
}

}  // namespace

void InstallStopSignals(std::initializer_list<int> signals, StopSignalHook hook) {
  if (g_pipe[0] < 0 && ::pipe2(g_pipe, O_CLOEXEC | O_NONBLOCK) == 0) {
    // The read end blocks (a watcher thread waits on it); the write end never does.
    ::fcntl(g_pipe[0], F_SETFL, ::fcntl(g_pipe[0], F_GETFL) & ~O_NONBLOCK);
  }
  g_hook.store(hook);
  struct sigaction action = {};
  action.sa_handler = Handle;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  for (int s : signals) ::sigaction(s, &action, nullptr);
}

int StopSignalCount() { return g_count.load(); }

int LastStopSignal() { return g_last.load(); }

int StopSignalPipe() { return g_pipe[0]; }

void WakeStopSignalPipe() { WriteByte(0); }

void ResetStopSignals() {
  g_count.store(0);
  g_last.store(0);
}

}  // namespace malaria::base
