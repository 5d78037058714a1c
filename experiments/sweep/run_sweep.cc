// Runs a sweep (sweep.proto): every trial an ordinary run of the experiment tracker, tagged with
// the sweep and its axis values, each over the sweep's patient folds. Each sweep target
// (`bazel run //experiments/sweep:<name>`) calls this with its config; arguments after `--`
// are passed on:
//
//   bazel run //experiments/sweep:speedrun_lr_smoothing               # here, one trial at a time
//   bazel run //experiments/sweep:speedrun_lr_smoothing -- --jobs 2   # two trials at once
//   bazel run //experiments/sweep:speedrun_lr_smoothing -- --executor slurm --sbatch_args=-c2
//   bazel run //experiments/sweep:speedrun_lr_smoothing -- --status   # the table; writes nothing
//
// Flags:
//   --sweep FILE         the sweep config (text-format SweepConfig)
//   --runs_dir DIR       tracker root (default $MALARIA_RUNS_DIR, the experiment's, or
//                        <workspace>/runs)
//   --executor E         local (default): trials run here; slurm: submitted as a job array
//   --jobs N             local: N trials at once, each in its own process (and process group)
//   --trial T            run trial T's folds only (what each Slurm array task and --jobs child
//                        runs)
//   --status             print the sweep's trials from the tracker and exit, writing nothing
//   --nested             --status, then the nested estimate (sweep_state.h NestedSelection):
//                        each fold's cells predicted by the trial chosen without that fold,
//                        pooled and judged with intervals by patient; writes nothing
//   --retry_failed       resume failed trial folds (start anew those refused before they started)
//   --sbatch_args ARGS   slurm: more sbatch arguments, separated by spaces ("-p gpu -c 8")
//
// A sweep is read back from the tracker each time: a second invocation (after Ctrl-C, kill -9,
// a reboot, a cancelled Slurm job) starts only the trial folds without a run, resumes the cut-off
// ones, and leaves completed ones alone. Every fold runs under its claim (trial_claim.h), so
// processes sharing a root never run one fold twice. What is kept of the sweep
// (<root>/sweeps/<name>.pbtxt: its config and resolved experiment, sweep_session.h) must match:
// another config (but for its budget) or an edited experiment is refused, naming the change.
//
// Exit status: 0 done (or submitted), 1 a trial failed (or was refused when it started: recorded
// as a FAILED run), 2 nothing started (bad flag or sweep config, each problem named), 130
// interrupted (the cut-off trial is resumable).
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/flags.h"
#include "base/interrupt.h"
#include "base/main.h"
#include "base/signals.h"
#include "base/text_table.h"
#include "evaluation/intervals.h"
#include "experiments/store/kfold.h"
#include "experiments/store/out_of_fold.h"
#include "experiments/store/run_reader.h"
#include "experiments/sweep/sweep_session.h"
#include "experiments/sweep/sweep_slurm.h"
#include "experiments/sweep/sweep_spec.h"
#include "experiments/sweep/sweep_state.h"

namespace malaria::experiments {
namespace {

struct Flags {
  std::string sweep_path, runs_dir, executor = "local", sbatch_args;
  int jobs = 1;
  int trial = -1;
  bool status = false, retry_failed = false, nested = false;
};

using Sweep = OpenedSweep;

absl::StatusOr<SweepState> ReadState(const Sweep& s, bool retry_failed) {
  return ReadSweepStateOf(s, retry_failed);
}

void PrintState(const Sweep& s, const SweepState& state, std::FILE* out) {
  absl::FPrintF(out, "\n%s\n%s", base::FormatTextTable(SweepTable(s.config, state), true),
                SweepSummary(s.config, state));
}

// --nested: the table, then the nested estimate with the chosen runs' predictions pooled.
absl::StatusOr<int> PrintNested(const Sweep& s, const SweepState& state) {
  PrintState(s, state, stdout);
  absl::StatusOr<NestedEstimate> nested = NestedSelection(s.config, state);
  if (!nested.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("--nested: no nested estimate yet: ", nested.status().message()));
  }
  std::vector<LoadedRun> runs;
  for (const std::string& dir : nested->runs) {
    absl::StatusOr<LoadedRun> run = LoadRun(dir);
    if (!run.ok()) return run.status();
    runs.push_back(*std::move(run));
  }
  KFoldSummary chosen;
  chosen.experiment = s.config.name();
  chosen.folds = nested->folds;
  chosen.present = nested->fold;
  chosen.runs = nested->runs;
  absl::StatusOr<PooledOutOfFold> pooled = PoolOutOfFold(chosen, runs);
  if (!pooled.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--nested: the chosen runs' predictions cannot be pooled: ", pooled.status().message()));
  }
  absl::PrintF(
      "\nNested, pooled (each fold's %d cells in all predicted by the trial chosen without that "
      "fold, the number to report for this sweep's choice): %s\n",
      pooled->predictions->size(), evaluation::PatientIntervalsText(pooled->report.intervals()));
  return base::kExitOk;
}

// --trial T: trial T's folds, in order: started, or resumed; completed ones left alone.
absl::StatusOr<int> RunOneTrial(const Sweep& s, const Flags& flags) {
  int status = base::kExitOk;
  std::set<int> attempted;
  while (true) {
    absl::StatusOr<SweepState> state = ReadState(s, flags.retry_failed);
    if (!state.ok()) return state.status();
    if (flags.trial >= static_cast<int>(state->trials.size())) {
      return absl::FailedPreconditionError(absl::StrCat(
          "--trial ", flags.trial, ": sweep ", s.config.name(), " plans ", state->trials.size(),
          " trial(s) so far (the next rung is planned once the one before is done)"));
    }
    const TrialWork* next = nullptr;
    for (const TrialWork& w : state->todo) {
      if (w.trial == flags.trial && !attempted.count(w.fold)) {
        next = &w;
        break;
      }
    }
    if (base::InterruptRequested()) return base::kExitInterrupted;  // between two folds
    if (next == nullptr) {
      if (!state->trials[flags.trial].Started() && state->budget_spent) {
        absl::PrintF("trial %d not started: the sweep's budget is spent\n", flags.trial);
      }
      return status;
    }
    attempted.insert(next->fold);
    absl::StatusOr<std::optional<int>> ran = RunClaimedTrialFold(s, *next, flags.retry_failed);
    if (!ran.ok()) return ran.status();
    if (!ran->has_value()) continue;  // left to another process
    if (**ran == base::kExitInterrupted) return **ran;
    if (**ran != base::kExitOk) status = **ran;
  }
}

// The local executor, one process: trial folds one after another until none is left.
absl::StatusOr<int> RunHere(const Sweep& s, const Flags& flags) {
  int status = base::kExitOk;
  std::set<std::pair<int, int>> attempted;
  while (true) {
    absl::StatusOr<SweepState> state = ReadState(s, flags.retry_failed);
    if (!state.ok()) return state.status();
    const TrialWork* next = nullptr;
    for (const TrialWork& w : state->todo) {
      if (!attempted.count({w.trial, w.fold})) {
        next = &w;
        break;
      }
    }
    if (next == nullptr || base::InterruptRequested()) {
      PrintState(s, *state, stdout);
      if (base::InterruptRequested()) return base::kExitInterrupted;
      return status;
    }
    attempted.insert({next->trial, next->fold});
    absl::StatusOr<std::optional<int>> ran = RunClaimedTrialFold(s, *next, flags.retry_failed);
    if (!ran.ok()) return ran.status();
    if (!ran->has_value()) continue;  // left to another process
    if (**ran == base::kExitInterrupted) {
      absl::StatusOr<SweepState> after = ReadState(s, false);
      if (after.ok()) PrintState(s, *after, stdout);
      absl::PrintF("Interrupted: run the same command again to finish the sweep\n");
      return **ran;
    }
    if (**ran != base::kExitOk) status = **ran;
  }
}

// The arguments that make this program run trial `trial` of the same sweep.
std::vector<std::string> TrialArguments(const Sweep& s, const Flags& flags, int trial) {
  std::vector<std::string> args = {"--sweep", s.sweep_path, "--runs_dir", s.root};
  if (trial >= 0) {
    args.push_back("--trial");
    args.push_back(absl::StrCat(trial));
  }
  if (flags.retry_failed) args.push_back("--retry_failed");
  return args;
}

std::string SelfPath() {
  std::error_code ec;
  const std::filesystem::path p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? "/proc/self/exe" : p.string();
}

// The local executor with --jobs N: up to N trials at once, each a child process running
// --trial T. Stop signals are passed on to the children, which stop their runs resumably.
absl::StatusOr<int> RunJobs(const Sweep& s, const Flags& flags) {
  base::InstallStopSignals({SIGINT, SIGTERM});
  std::map<pid_t, int> children;  // pid -> trial
  std::set<int> launched;
  int status = base::kExitOk;
  int forwarded = 0;
  bool plan = true;  // read the tracker again: at the start and after a child ended
  while (true) {
    if (base::StopSignalCount() > forwarded) {
      forwarded = base::StopSignalCount();
      for (const auto& [pid, trial] : children) ::kill(pid, base::LastStopSignal());
    }
    if (plan && forwarded == 0) {
      plan = false;
      absl::StatusOr<SweepState> state = ReadState(s, flags.retry_failed);
      if (!state.ok()) return state.status();
      for (const TrialWork& w : state->todo) {
        if (static_cast<int>(children.size()) >= flags.jobs) break;
        if (launched.count(w.trial)) continue;
        launched.insert(w.trial);
        std::vector<std::string> args = TrialArguments(s, flags, w.trial);
        const std::string self = SelfPath();
        std::fflush(stdout);
        const pid_t pid = ::fork();
        if (pid < 0) return absl::InternalError("fork failed");
        if (pid == 0) {
          // A process group of its own: a terminal's Ctrl-C (SIGINT to the foreground group)
          // reaches only this parent, which passes it on once; and a stop signal when the parent
          // dies, so no trial runs on unwatched.
          ::setpgid(0, 0);
          ::prctl(PR_SET_PDEATHSIG, SIGTERM);
          if (::getppid() == 1) std::_Exit(base::kExitInterrupted);  // the parent died already
          std::vector<char*> argv = {const_cast<char*>(self.c_str())};
          for (std::string& a : args) argv.push_back(a.data());
          argv.push_back(nullptr);
          ::execv(self.c_str(), argv.data());
          std::_Exit(127);
        }
        absl::PrintF("sweep %s: trial %d started (process %d)\n", s.config.name(), w.trial, pid);
        std::fflush(stdout);
        children[pid] = w.trial;
      }
    }
    if (children.empty()) break;
    // Polled, not blocked in: a stop signal is passed on within 0.1 s (waitpid itself would be
    // restarted after the signal, and wait for a child that was never told).
    int wstatus = 0;
    const pid_t done = ::waitpid(-1, &wstatus, WNOHANG);
    if (done == 0 || (done < 0 && errno == EINTR)) {
      ::usleep(100 * 1000);
      continue;
    }
    if (done < 0) break;
    const int code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : base::kExitFailed;
    absl::PrintF("sweep %s: trial %d ended (exit status %d)\n", s.config.name(), children[done],
                 code);
    std::fflush(stdout);
    children.erase(done);
    plan = true;
    if (code == base::kExitInterrupted || forwarded > 0) {
      status = base::kExitInterrupted;
    } else if (code != base::kExitOk && status == base::kExitOk) {
      status = code;
    }
  }
  absl::StatusOr<SweepState> state = ReadState(s, false);
  if (state.ok()) PrintState(s, *state, stdout);
  if (status == base::kExitInterrupted) {
    absl::PrintF("Interrupted: run the same command again to finish the sweep\n");
  }
  return status;
}

absl::StatusOr<int> Main(int argc, char** argv) {
  Flags f;
  base::FlagParser flags(
      "run_sweep --sweep FILE [--runs_dir DIR] [--jobs N | --executor slurm | --status | --nested]",
      "Runs a sweep of experiment trials over patient folds, resumably; see sweep.proto.");
  flags.String("sweep", &f.sweep_path, "the sweep config (text-format SweepConfig)");
  flags.String("runs_dir", &f.runs_dir,
               "tracker root (default $MALARIA_RUNS_DIR, the experiment's, or <workspace>/runs)");
  flags.String("executor", &f.executor, "local (trials run here) or slurm (a job array)");
  flags.Int("jobs", &f.jobs, "local: trials at once, each in its own process");
  flags.Int("trial", &f.trial, "run this trial's folds only");
  flags.Bool("status", &f.status, "print the sweep's trials from the tracker and exit");
  flags.Bool("nested", &f.nested,
             "--status, then the nested estimate of the sweep's choice, pooled with intervals by "
             "patient");
  flags.Bool("retry_failed", &f.retry_failed, "resume failed trial folds");
  flags.String("sbatch_args", &f.sbatch_args, "slurm: more sbatch arguments, space-separated");
  absl::StatusOr<bool> go = flags.Parse(argc, argv);
  if (!go.ok()) return go.status();
  if (!*go) return base::kExitOk;
  if (f.executor != "local" && f.executor != "slurm") {
    return absl::InvalidArgumentError(
        absl::StrCat("--executor: '", f.executor, "' is neither local nor slurm"));
  }
  if (f.jobs < 1) {
    return absl::InvalidArgumentError(absl::StrCat("--jobs: '", f.jobs, "' is not >= 1"));
  }
  if (f.trial < -1) {
    return absl::InvalidArgumentError(absl::StrCat("--trial: '", f.trial, "' is not a trial"));
  }
  std::vector<std::string> command_line(argv, argv + argc);
  absl::StatusOr<Sweep> s = OpenSweep(f.sweep_path, f.runs_dir, command_line);
  if (!s.ok()) return s.status();
  // The plan is read before anything is written: a change it refuses (a budget lowered below what
  // ran) leaves the root as it was. --status writes nothing at all.
  const bool read_only = f.status || f.nested;
  absl::StatusOr<SweepState> state = ReadState(*s, read_only ? false : f.retry_failed);
  if (!state.ok()) return state.status();
  if (f.nested) return PrintNested(*s, *state);
  if (f.status) {
    PrintState(*s, *state, stdout);
    return base::kExitOk;
  }
  if (absl::Status kept = KeepSweep(*s); !kept.ok()) return kept;
  if (f.executor == "slurm") {
    // The trials with work left become one job array (sweep_slurm.h).
    PrintState(*s, *state, stdout);
    if (absl::Status submitted =
            SubmitSweepToSlurm(*s, *state, SelfPath(), TrialArguments(*s, f, -1), f.sbatch_args);
        !submitted.ok()) {
      return submitted;
    }
    return base::kExitOk;
  }
  if (f.jobs > 1 && f.trial < 0) return RunJobs(*s, f);
  base::InstallInterruptHandler();
  if (f.trial >= 0) return RunOneTrial(*s, f);
  return RunHere(*s, f);
}

}  // namespace
}  // namespace malaria::experiments

int main(int argc, char** argv) {
  return malaria::base::RunMain(argc, argv, malaria::experiments::Main);
}
