#include "experiments/launcher.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/signals.h"
#include "experiments/store/run_info.pb.h"
#include "experiments/store/tracker.h"
#include "training/distributed.h"

extern char** environ;

namespace malaria::experiments {
namespace {

std::string Describe(int status) {
  if (WIFSIGNALED(status)) {
    return absl::StrCat("was killed by signal ", WTERMSIG(status), " (",
                        strsignal(WTERMSIG(status)), ")");
  }
  return absl::StrCat("exited with status ", WEXITSTATUS(status));
}

// Marks the run FAILED when its record still says RUNNING (rank 0 died before recording).
void MarkFailed(const std::string& dir, const std::string& reason) {
  const RunDirectory run = RunDirectory::Open(dir);
  absl::StatusOr<RunInfo> info_or = ReadRunInfo(run);
  if (!info_or.ok() || info_or->status() != RunInfo::RUNNING) return;
  RunInfo& info = *info_or;
  info.set_status(RunInfo::FAILED);
  info.set_reason(reason);
  info.set_end_time(IsoTime(std::time(nullptr)));
  if (absl::Status s = WriteRunInfo(run, info); !s.ok()) {
    absl::FPrintF(stderr, "launcher: cannot record the failure in %s: %s\n", dir, s.ToString());
  } else {
    absl::FPrintF(stderr, "launcher: marked %s FAILED\n", dir);
  }
}

}  // namespace

int LaunchWorkers(int nproc, const std::string& program, const std::vector<std::string>& args,
                  int grace_seconds) {
  const absl::StatusOr<int> nnodes_or = training::IntFromEnvironment("NNODES", 1);
  const absl::StatusOr<int> node_rank_or = training::IntFromEnvironment("NODE_RANK", 0);
  const absl::StatusOr<int> port_or = training::IntFromEnvironment("MASTER_PORT", 0);
  for (const absl::Status& s : {nnodes_or.status(), node_rank_or.status(), port_or.status()}) {
    if (!s.ok()) {
      absl::FPrintF(stderr, "ERROR: %s\n", s.message());
      return 2;
    }
  }
  const int nnodes = std::max(1, *nnodes_or), node_rank = *node_rank_or;
  const char* addr_env = std::getenv("MASTER_ADDR");
  if (nnodes > 1 && (addr_env == nullptr || *port_or == 0)) {
    absl::FPrintF(stderr, "ERROR: NNODES=%d needs MASTER_ADDR and MASTER_PORT (node 0's address)\n",
                  nnodes);
    return 2;
  }
  if (node_rank >= nnodes) {
    absl::FPrintF(stderr, "ERROR: NODE_RANK=%d is not below NNODES=%d\n", node_rank, nnodes);
    return 2;
  }
  const std::string addr = addr_env != nullptr ? addr_env : "127.0.0.1";
  const int port = *port_or != 0 ? *port_or : training::FreeTcpPort();
  const int world = nnodes * nproc;

  std::unique_ptr<training::StoreServer> store;
  if (node_rank == 0) {
    absl::StatusOr<std::unique_ptr<training::StoreServer>> started =
        training::StoreServer::Start(port);
    if (!started.ok()) {
      absl::FPrintF(stderr, "launcher: %s\n", started.status().message());
      return 2;
    }
    store = *std::move(started);
  }

  // SIGINT and SIGTERM are passed on to every worker, which stop together after the current batch
  // (the run is INTERRUPTED and resumable); the launcher waits for them.
  // (SIGHUP: the terminal closed, passed on as SIGTERM.)
  base::InstallStopSignals({SIGINT, SIGTERM, SIGHUP});

  std::map<pid_t, int> rank_of;
  for (int local = 0; local < nproc; ++local) {
    const int rank = node_rank * nproc + local;
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string v = *e;
      bool ours = false;
      for (const char* name : {"RANK=", "LOCAL_RANK=", "WORLD_SIZE=", "LOCAL_WORLD_SIZE=",
                               "MASTER_ADDR=", "MASTER_PORT=", "TORCHELASTIC_USE_AGENT_STORE=",
                               "GROUP_RANK=", "NNODES=", "NODE_RANK="}) {
        ours = ours || v.rfind(name, 0) == 0;
      }
      if (!ours) env.push_back(v);
    }
    env.push_back(absl::StrCat("RANK=", rank));
    env.push_back(absl::StrCat("LOCAL_RANK=", local));
    env.push_back(absl::StrCat("WORLD_SIZE=", world));
    env.push_back(absl::StrCat("LOCAL_WORLD_SIZE=", nproc));
    env.push_back(absl::StrCat("GROUP_RANK=", node_rank));
    env.push_back(absl::StrCat("MASTER_ADDR=", addr));
    env.push_back(absl::StrCat("MASTER_PORT=", port));
    env.push_back("TORCHELASTIC_USE_AGENT_STORE=True");
    std::vector<std::string> argv_s = {program};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv, envp;
    for (std::string& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (std::string& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    // Each worker in a process group of its own: a Ctrl-C on the terminal reaches the launcher
    // alone, which passes it on once (a second SIGINT would stop a worker at once).
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
    pid_t pid;
    const int err = posix_spawn(&pid, program.c_str(), nullptr, &attr, argv.data(), envp.data());
    posix_spawnattr_destroy(&attr);
    if (err != 0) {
      absl::FPrintF(stderr, "launcher: cannot start %s: %s\n", program, std::strerror(err));
      for (const auto& [p, r] : rank_of) ::kill(p, SIGKILL);
      return 2;
    }
    rank_of[pid] = rank;
  }
  std::string pids;
  for (const auto& [pid, rank] : rank_of)
    absl::StrAppend(&pids, " rank ", rank, ": pid ", pid, ";");
  absl::FPrintF(stderr, "launcher: %d worker(s) of %d on node %d, rendezvous %s:%d;%s\n", nproc,
                world, node_rank, addr, port, pids);

  using Clock = std::chrono::steady_clock;
  int result = 0;
  std::string failure;
  Clock::time_point deadline = Clock::time_point::max();
  int forwarded = 0;
  while (!rank_of.empty()) {
    if (const int sig = base::LastStopSignal(); sig != 0 && sig != forwarded) {
      for (const auto& [pid, rank] : rank_of) ::kill(pid, sig == SIGHUP ? SIGTERM : sig);
      forwarded = sig;
    }
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid > 0 && rank_of.count(pid) > 0) {
      const int rank = rank_of[pid];
      rank_of.erase(pid);
      const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
      if (!ok && failure.empty()) {
        failure = absl::StrCat("rank ", rank, " (pid ", pid, ") ", Describe(status));
        result = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
        absl::FPrintF(stderr, "launcher: %s; waiting up to %d s for the others to stop\n", failure,
                      grace_seconds);
        deadline = Clock::now() + std::chrono::seconds(grace_seconds);
      }
      continue;
    }
    if (Clock::now() > deadline) {
      for (const auto& [p, rank] : rank_of) {
        absl::FPrintF(stderr, "launcher: rank %d (pid %d) did not stop; killing it\n", rank, p);
        ::kill(p, SIGKILL);
      }
      deadline = Clock::time_point::max();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (!failure.empty() && store != nullptr) {
    if (const std::string dir = store->TryGet("run_dir"); !dir.empty()) {
      MarkFailed(dir, absl::StrCat("data-parallel worker ", failure));
    }
  }
  return result;
}

}  // namespace malaria::experiments
