#include "base/signals.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "gtest/gtest.h"

namespace malaria::base {
namespace {

std::atomic<int> g_hook_calls{0};
std::atomic<int> g_hook_last_count{0};

void Hook(int signal, int count) {
  g_hook_calls.fetch_add(1);
  g_hook_last_count.store(count);
}

// Each signal is counted, named, written to the pipe (waking a reader thread) and passed to the
// hook; the process keeps running.
TEST(SignalsTest, EachStopSignalIsCountedNamedPipedAndHooked) {
  ResetStopSignals();
  InstallStopSignals({SIGINT, SIGTERM, SIGHUP}, &Hook);
  ASSERT_GE(StopSignalPipe(), 0);
  unsigned char seen = 0;
  std::thread reader([&seen] {
    while (::read(StopSignalPipe(), &seen, 1) < 0) {
    }
  });
  ASSERT_EQ(::raise(SIGTERM), 0);
  reader.join();
  EXPECT_EQ(seen, SIGTERM);
  EXPECT_EQ(StopSignalCount(), 1);
  EXPECT_EQ(LastStopSignal(), SIGTERM);
  ASSERT_EQ(::raise(SIGINT), 0);
  ASSERT_EQ(::raise(SIGHUP), 0);
  EXPECT_EQ(StopSignalCount(), 3);
  EXPECT_EQ(LastStopSignal(), SIGHUP);
  EXPECT_EQ(g_hook_calls.load(), 3);
  EXPECT_EQ(g_hook_last_count.load(), 3);
  unsigned char bytes[2];
  ASSERT_EQ(::read(StopSignalPipe(), bytes, 2), 2);
  EXPECT_EQ(bytes[0], SIGINT);
  EXPECT_EQ(bytes[1], SIGHUP);
  // A thread waiting on the pipe can be woken without a signal.
  WakeStopSignalPipe();
  ASSERT_EQ(::read(StopSignalPipe(), bytes, 1), 1);
  EXPECT_EQ(bytes[0], 0);
  EXPECT_EQ(StopSignalCount(), 3);
  ResetStopSignals();
  EXPECT_EQ(StopSignalCount(), 0);
  EXPECT_EQ(LastStopSignal(), 0);
}

}  // namespace
}  // namespace malaria::base
