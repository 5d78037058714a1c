// The Slurm executor of run_sweep: a sweep's trials with work left submitted as one job array.
#ifndef MALARIA_EXPERIMENTS_SWEEP_SWEEP_SLURM_H_
#define MALARIA_EXPERIMENTS_SWEEP_SWEEP_SLURM_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "experiments/sweep/sweep_session.h"
#include "experiments/sweep/sweep_state.h"

namespace malaria::experiments {

// SubmitSweepToSlurm submits the trials of `s` with work left in `state` as one Slurm job array
// (sbatch, with `sbatch_args` split at spaces): task i runs `self` with `args` and --trial T_i.
// With successive halving, a follow-up job submitted after the array succeeds submits the next
// rung the same way. Scripts and logs go to <root>/sweeps/<name>.slurm/; a script whose submission
// failed is removed. The sweep's state stays the tracker's, whatever the queue says. Prints what
// it submitted (or that nothing is left) to stdout.
absl::Status SubmitSweepToSlurm(const OpenedSweep& s, const SweepState& state,
                                const std::string& self, const std::vector<std::string>& args,
                                const std::string& sbatch_args);

}  // namespace malaria::experiments

#endif  // MALARIA_EXPERIMENTS_SWEEP_SWEEP_SLURM_H_
