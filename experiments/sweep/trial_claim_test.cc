#include "experiments/sweep/trial_claim.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "base/files.h"
#include "gtest/gtest.h"

namespace malaria::experiments {
namespace {

std::string Root(const std::string& name) {
  const std::string root = base::JoinPath(std::getenv("TEST_TMPDIR"), name);
  EXPECT_TRUE(base::MakeDirs(root).ok());
  return root;
}

// A child process that claims trial 1 fold 0, says so on a pipe, and waits to be killed.
pid_t ClaimInChild(const std::string& root) {
  int ready[2];
  EXPECT_EQ(::pipe(ready), 0);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(ready[0]);
    absl::StatusOr<std::unique_ptr<TrialClaim>> claim = TrialClaim::TryClaim(root, "s", 1, 0);
    const char ok = claim.ok() && *claim != nullptr ? 'y' : 'n';
    if (::write(ready[1], &ok, 1) != 1) std::_Exit(1);
    ::pause();
    std::_Exit(0);
  }
  ::close(ready[1]);
  char ok = 0;
  EXPECT_EQ(::read(ready[0], &ok, 1), 1);
  EXPECT_EQ(ok, 'y');
  ::close(ready[0]);
  return pid;
}

// What another process holds is refused, with who holds it; once that process is killed
// (SIGKILL: nothing of it runs), the claim is free. Other folds and trials are independent.
TEST(TrialClaimTest, HeldByOneProcessUntilItEndsHoweverItEnds) {
  const std::string root = Root("held");
  const pid_t child = ClaimInChild(root);
  std::string holder;
  absl::StatusOr<std::unique_ptr<TrialClaim>> mine = TrialClaim::TryClaim(root, "s", 1, 0, &holder);
  ASSERT_TRUE(mine.ok()) << mine.status();
  EXPECT_EQ(*mine, nullptr);
  EXPECT_NE(holder.find("process " + std::to_string(child)), std::string::npos) << holder;

  absl::StatusOr<std::unique_ptr<TrialClaim>> other = TrialClaim::TryClaim(root, "s", 1, 1);
  ASSERT_TRUE(other.ok());
  EXPECT_NE(*other, nullptr);
  absl::StatusOr<std::unique_ptr<TrialClaim>> trial2 = TrialClaim::TryClaim(root, "s", 2, 0);
  ASSERT_TRUE(trial2.ok());
  EXPECT_NE(*trial2, nullptr);

  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  mine = TrialClaim::TryClaim(root, "s", 1, 0);
  ASSERT_TRUE(mine.ok());
  EXPECT_NE(*mine, nullptr);
  EXPECT_EQ((*mine)->path(), base::JoinPath(root, "sweeps/s.claims/t001-f0.lock"));
}

// Released when the claim is destroyed: another process may take it at once.
TEST(TrialClaimTest, ReleasedWhenDestroyed) {
  const std::string root = Root("released");
  {
    absl::StatusOr<std::unique_ptr<TrialClaim>> mine = TrialClaim::TryClaim(root, "s", 1, 0);
    ASSERT_TRUE(mine.ok() && *mine != nullptr);
  }
  const pid_t child = ClaimInChild(root);  // expects to get it
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
}

TEST(TrialClaimTest, AnUnwritableRootIsNamed) {
  const absl::StatusOr<std::unique_ptr<TrialClaim>> claim =
      TrialClaim::TryClaim("/proc/no/such/root", "s", 0, 0);
  ASSERT_FALSE(claim.ok());
  EXPECT_NE(claim.status().message().find("/proc/no/such/root"), std::string::npos)
      << claim.status();
}

}  // namespace
}  // namespace malaria::experiments
