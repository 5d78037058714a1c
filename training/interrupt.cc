#include "training/interrupt.h"

#include <csignal>

namespace malaria::training {
namespace {

volatile std::sig_atomic_t g_interrupted = 0;
volatile std::sig_atomic_t g_signal = 0;

void Handle(int signal) {
  if (g_interrupted) {
    std::signal(signal, SIG_DFL);
    std::raise(signal);
    return;
  }
  g_interrupted = 1;
  g_signal = signal;
}

}  // namespace

void InstallInterruptHandler() {
  std::signal(SIGINT, Handle);
  std::signal(SIGTERM, Handle);
}

bool InterruptRequested() { return g_interrupted != 0; }

void RequestInterrupt() { g_interrupted = 1; }

void ClearInterrupt() {
  g_interrupted = 0;
  g_signal = 0;
}

int InterruptSignal() { return g_signal; }

}  // namespace malaria::training
