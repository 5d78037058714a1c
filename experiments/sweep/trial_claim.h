// Claims on a sweep's trial folds, so that two processes working on one sweep (two run_sweep in
// two terminals, --jobs children, Slurm array tasks on several nodes sharing the tracker root)
// never run the same trial fold twice.
//
//   absl::StatusOr<std::unique_ptr<TrialClaim>> claim =
//       TrialClaim::TryClaim(root, sweep.name(), trial, fold);
//   if (!claim.ok()) ...          // the claim file could not be made: named
//   if (*claim == nullptr) ...    // another process holds it: leave the fold to it
//   ... read the sweep again, run the fold if it still needs it ...   // released when destroyed
//
// A claim is an exclusive fcntl(2) lock on <root>/sweeps/<name>.claims/t<NNN>-f<F>.lock, held while
// the process runs the fold. The kernel releases it whatever way the process ends (kill -9
// included); on NFS the lock server releases it when the holder's lease lapses, so a claim holds
// across the nodes that share the root. The lock file says who holds it, for people.
#ifndef MALARIA_EXPERIMENTS_SWEEP_TRIAL_CLAIM_H_
#define MALARIA_EXPERIMENTS_SWEEP_TRIAL_CLAIM_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace malaria::experiments {

class TrialClaim {
 public:
  // TryClaim claims fold `fold` of trial `trial` of sweep `name` under tracker root `root`:
  // the claim, nullptr when another process holds it (*holder, when given, says who: "process
  // 1234 on node7 since 2026-12-07T10:00:00Z"), or an error naming the file that could not be
  // made or locked.
  static absl::StatusOr<std::unique_ptr<TrialClaim>> TryClaim(const std::string& root,
                                                              const std::string& name, int trial,
                                                              int fold,
                                                              std::string* holder = nullptr);
  ~TrialClaim();
  TrialClaim(const TrialClaim&) = delete;
  TrialClaim& operator=(const TrialClaim&) = delete;

  const std::string& path() const { return path_; }

 private:
  TrialClaim(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_;
  std::string path_;
};

// TrialClaimPath returns the lock file of a trial fold's claim.
std::string TrialClaimPath(const std::string& root, const std::string& name, int trial, int fold);

}  // namespace malaria::experiments

#endif  // MALARIA_EXPERIMENTS_SWEEP_TRIAL_CLAIM_H_
