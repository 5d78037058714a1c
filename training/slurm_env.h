// A data-parallel job started by Slurm's srun, read from Slurm's environment, so
//
//   srun -N 2 --ntasks-per-node 4 bazel-bin/experiments/run_experiment --config C
//
// starts one rank per task with no other flags: the rank is SLURM_PROCID, the world
// SLURM_STEP_NUM_TASKS, the local rank SLURM_LOCALID, the tasks on this node from
// SLURM_STEP_TASKS_PER_NODE, and rank 0's store is on the step's first node
// (SLURM_STEP_NODELIST), port MASTER_PORT or one derived from the job and step ids. Only a job
// step (srun) counts: a batch script of an `sbatch -n 4` job is one process, not rank 0 of four.
// torchrun's variables (WORLD_SIZE, RANK, ...) take precedence when set.
#ifndef MALARIA_TRAINING_SLURM_ENV_H_
#define MALARIA_TRAINING_SLURM_ENV_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace malaria::training {

struct SlurmStep {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  int local_world_size = 1;
  std::string master_addr;
  int master_port = 0;
};

// Reads a variable: std::getenv, or a map in tests. nullptr when unset.
using EnvReader = std::function<const char*(const char*)>;

// IntVariable returns variable `name` as a non-negative int, `fallback` when it is unset or empty;
// InvalidArgument naming the variable and its value otherwise (torchrun's and Slurm's variables).
absl::StatusOr<int> IntVariable(const EnvReader& env, const char* name, int fallback);

// SlurmStepFromEnvironment returns the step this process is a task of, when it runs under srun
// with more than one task (SLURM_STEP_NUM_TASKS > 1); nullopt otherwise. InvalidArgument naming
// the variable when one is malformed.
absl::StatusOr<std::optional<SlurmStep>> SlurmStepFromEnvironment(const EnvReader& env);

// ExpandSlurmHostList expands a Slurm host list: "node[01-03,07],gpu5" is node01, node02,
// node03, node07, gpu5 (zero padding kept). InvalidArgument for an unbalanced bracket, a bad
// range, or more than `max_hosts` hosts (checked before any is listed: "n[0-2000000000]" is
// refused at once).
absl::StatusOr<std::vector<std::string>> ExpandSlurmHostList(const std::string& list,
                                                             int max_hosts = 65536);

// TasksOnNode returns the tasks Slurm runs on node `node` (from 0) from a tasks-per-node string
// such as "2(x3),1": 2 on nodes 0-2, 1 on node 3. InvalidArgument when malformed or too short.
absl::StatusOr<int> TasksOnNode(const std::string& tasks_per_node, int node);

}  // namespace malaria::training

#endif  // MALARIA_TRAINING_SLURM_ENV_H_
