// Starts the processes of a data-parallel job on this machine, as torchrun does, and watches them:
//
//   run_experiment --config C --nproc_per_node 2          # 2 processes here
//   NNODES=2 NODE_RANK=0 MASTER_ADDR=10.0.0.1 MASTER_PORT=29500 run_experiment ... --nproc_per_node
//   2 NNODES=2 NODE_RANK=1 MASTER_ADDR=10.0.0.1 MASTER_PORT=29500 run_experiment ...
//   --nproc_per_node 2
//
// Each worker is this program again, with torchrun's variables (RANK, LOCAL_RANK, WORLD_SIZE,
// LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT, TORCHELASTIC_USE_AGENT_STORE). The launcher of node
// 0 hosts the rendezvous store. When a worker fails or dies, the others are given a grace period
// to stop on their own (their next collective fails), then killed; if rank 0 could not record the
// failure, the launcher marks the run FAILED. Ctrl-C (SIGINT or SIGTERM to the launcher) is passed
// on to every worker, which stop together (INTERRUPTED, resumable).
#ifndef MALARIA_EXPERIMENTS_LAUNCHER_H_
#define MALARIA_EXPERIMENTS_LAUNCHER_H_

#include <string>
#include <vector>

namespace malaria::experiments {

// LaunchWorkers runs `nproc` workers of `program` with `args` and returns the exit status to
// report: 0 when all succeeded, else the first failure's (1 for a worker killed by a signal).
int LaunchWorkers(int nproc, const std::string& program, const std::vector<std::string>& args,
                  int grace_seconds = 30);

}  // namespace malaria::experiments

#endif  // MALARIA_EXPERIMENTS_LAUNCHER_H_
