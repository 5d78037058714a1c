#include "base/interrupt.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"

namespace malaria::base {
namespace {

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(InterruptTest, FirstSignalOnlySetsTheFlag) {
  ClearInterrupt();
  InstallInterruptHandler();
  EXPECT_FALSE(InterruptRequested());
  ::raise(SIGTERM);
  EXPECT_TRUE(InterruptRequested());
  EXPECT_EQ(InterruptSignal(), SIGTERM);
  ClearInterrupt();
  EXPECT_FALSE(InterruptRequested());
}

// A second Ctrl-C kills the process, but first writes the record prepared for it and says so.
TEST(InterruptTest, SecondSignalWritesTheEmergencyRecordAndStopsAtOnce) {
  const std::string dir = std::getenv("TEST_TMPDIR");
  const std::string record = dir + "/run_info.pbtxt";
  const std::string log = dir + "/stderr.txt";
  std::ofstream(record) << "status: RUNNING\n";
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, STDERR_FILENO);
    ClearInterrupt();
    InstallInterruptHandler();
    SetEmergencyRecord(record, "status: RUNNING\nold: 1\n");
    SetEmergencyRecord(record, "status: INTERRUPTED\nreason: \"stopped at once\"\n");
    ::raise(SIGINT);
    if (!InterruptRequested()) ::_exit(3);
    ::raise(SIGINT);
    ::_exit(4);  // not reached: the second signal kills the process
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "exit status " << WEXITSTATUS(status);
  EXPECT_EQ(WTERMSIG(status), SIGINT);
  EXPECT_EQ(Read(record), "status: INTERRUPTED\nreason: \"stopped at once\"\n");
  const std::string said = Read(log);
  EXPECT_NE(said.find("Interrupt received: stopping after the current batch (Ctrl-C again to stop "
                      "at once)"),
            std::string::npos)
      << said;
  EXPECT_NE(said.find("Second interrupt: stopping now. The run is recorded as INTERRUPTED"),
            std::string::npos)
      << said;
}

}  // namespace
}  // namespace malaria::base
