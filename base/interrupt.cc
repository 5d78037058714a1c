#include "base/interrupt.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstring>
#include <vector>

#include "base/signals.h"

namespace malaria::base {
namespace {

volatile std::sig_atomic_t g_interrupted = 0;
volatile std::sig_atomic_t g_signal = 0;

// The record a second signal writes. Two buffers: the setter fills the one not in use, then
// publishes it with one atomic store, so the handler never reads a half-written record.
struct Record {
  std::vector<char> path;  // NUL-terminated
  std::vector<char> temporary;
  std::vector<char> contents;
};
Record g_records[2];
std::atomic<Record*> g_record{nullptr};

void Say(const char* text) {
  const ssize_t ignored = ::write(STDERR_FILENO, text, std::strlen(text));
  (void)ignored;
}

// Only async-signal-safe calls from here on.
bool WriteRecord(const Record& r) {
  const int fd = ::open(r.temporary.data(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  size_t done = 0;
  while (done < r.contents.size()) {
    const ssize_t n = ::write(fd, r.contents.data() + done, r.contents.size() - done);
    if (n <= 0) {
      ::close(fd);
      ::unlink(r.temporary.data());
      return false;
    }
    done += static_cast<size_t>(n);
  }
  ::fsync(fd);
  ::close(fd);
  return ::rename(r.temporary.data(), r.path.data()) == 0;
}

// The runner's hook on base/signals.h's handler.
void Handle(int signal, int /*count*/) {
  if (g_interrupted) {
    const Record* record = g_record.load();
    if (record != nullptr && WriteRecord(*record)) {
      Say("\nSecond interrupt: stopping now. The run is recorded as INTERRUPTED; --resume "
          "continues "
          "it after its last completed epoch.\n");
    } else {
      Say("\nSecond interrupt: stopping now.\n");
    }
    std::signal(signal, SIG_DFL);
    std::raise(signal);
    return;
  }
  g_interrupted = 1;
  g_signal = signal;
  Say("\nInterrupt received: stopping after the current batch (Ctrl-C again to stop at once).\n");
}

}  // namespace

void InstallInterruptHandler() { base::InstallStopSignals({SIGINT, SIGTERM}, &Handle); }

bool InterruptRequested() { return g_interrupted != 0; }

void RequestInterrupt() { g_interrupted = 1; }

void ClearInterrupt() {
  g_interrupted = 0;
  g_signal = 0;
}

int InterruptSignal() { return g_signal; }

void SetEmergencyRecord(const std::string& path, const std::string& contents) {
  if (path.empty()) {
    g_record.store(nullptr);
    return;
  }
  Record* current = g_record.load();
  Record* next = current == &g_records[0] ? &g_records[1] : &g_records[0];
  next->path.assign(path.begin(), path.end());
  next->path.push_back('\0');
  const std::string temporary = path + ".emergency";
  next->temporary.assign(temporary.begin(), temporary.end());
  next->temporary.push_back('\0');
  next->contents.assign(contents.begin(), contents.end());
  g_record.store(next);
}

}  // namespace malaria::base
