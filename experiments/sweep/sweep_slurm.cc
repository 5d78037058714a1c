#include "experiments/sweep/sweep_slurm.h"

#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "base/files.h"
#include "base/shell.h"

namespace malaria::experiments {
namespace {

// Submits `script` with sbatch and `args`; returns the job id.
absl::StatusOr<std::string> Submit(const std::string& script,
                                   const std::vector<std::string>& args) {
  std::string command = "sbatch --parsable";
  for (const std::string& a : args) absl::StrAppend(&command, " ", base::ShellQuote(a));
  absl::StrAppend(&command, " ", base::ShellQuote(script));
  bool ok = false;
  const std::string out = base::CaptureCommand(command + " 2>&1", &ok);
  if (!ok) {
    return absl::FailedPreconditionError(
        absl::StrCat("`", command, "` failed: ", absl::StripAsciiWhitespace(out)));
  }
  std::string id(absl::StripAsciiWhitespace(out));
  id = id.substr(id.rfind('\n') == std::string::npos ? 0 : id.rfind('\n') + 1);
  id = id.substr(0, id.find(';'));
  int64_t numeric;
  if (!absl::SimpleAtoi(id, &numeric)) {
    return absl::FailedPreconditionError(absl::StrCat("sbatch printed no job id: ", out));
  }
  return id;
}

}  // namespace

absl::Status SubmitSweepToSlurm(const OpenedSweep& s, const SweepState& state,
                                const std::string& self, const std::vector<std::string>& args,
                                const std::string& sbatch_args) {
  std::vector<int> trials;
  for (const TrialWork& w : state.todo) {
    if (trials.empty() || trials.back() != w.trial) trials.push_back(w.trial);
  }
  if (trials.empty()) {
    absl::PrintF("nothing to submit%s\n",
                 state.finished ? ": the sweep is finished" : " now (trials are running)");
    return absl::OkStatus();
  }
  const std::string dir =
      base::JoinPath(s.root, absl::StrCat("sweeps/", s.config.name(), ".slurm"));
  const bool made_dir = !base::PathExists(dir);
  if (absl::Status m = base::MakeDirs(dir); !m.ok()) return m;
  // A script whose submission failed is removed, and the folder when this made it for nothing.
  auto discard = [&](const std::string& script) {
    std::error_code ec;
    std::filesystem::remove(script, ec);
    if (made_dir) std::filesystem::remove(dir, ec);  // only when empty
  };
  const std::vector<std::string> extra = absl::StrSplit(sbatch_args, ' ', absl::SkipWhitespace());
  const std::string stamp = absl::StrCat(std::time(nullptr), "-", ::getpid());

  std::string script = absl::StrCat(
      "#!/usr/bin/env bash\n# Sweep ", s.config.name(), ": one array task per trial (",
      s.sweep_path, ").\n#SBATCH --job-name=sweep-", s.config.name(), "\n#SBATCH --output=", dir,
      "/%A_%a.out\n#SBATCH --open-mode=append\n#SBATCH --requeue\nset -euo pipefail\ntrials=(",
      absl::StrJoin(trials, " "), ")\nexec ", base::ShellQuote(self));
  for (const std::string& a : args) absl::StrAppend(&script, " ", base::ShellQuote(a));
  absl::StrAppend(&script, " --trial \"${trials[$SLURM_ARRAY_TASK_ID]}\"\n");
  const std::string array_script = base::JoinPath(dir, absl::StrCat("array-", stamp, ".sh"));
  if (absl::Status w = base::WriteFileAtomically(array_script, script); !w.ok()) return w;
  std::vector<std::string> array_args = {absl::StrCat("--array=0-", trials.size() - 1)};
  array_args.insert(array_args.end(), extra.begin(), extra.end());
  absl::StatusOr<std::string> job = Submit(array_script, array_args);
  if (!job.ok()) {
    discard(array_script);
    return job.status();
  }
  absl::PrintF("submitted trial(s) %s as Slurm job array %s (logs: %s/%s_<task>.out)\n",
               absl::StrJoin(trials, ", "), *job, dir, *job);

  if (state.current_rung + 1 < state.rungs) {
    std::string next = absl::StrCat("#!/usr/bin/env bash\n# Sweep ", s.config.name(),
                                    ": submits the next rung once this one is done.\n#SBATCH "
                                    "--job-name=sweep-",
                                    s.config.name(), "-next\n#SBATCH --output=", dir,
                                    "/%j.out\nset -euo pipefail\nexec ", base::ShellQuote(self));
    for (const std::string& a : args) absl::StrAppend(&next, " ", base::ShellQuote(a));
    absl::StrAppend(&next, " --executor slurm");
    if (!sbatch_args.empty()) {
      absl::StrAppend(&next, " --sbatch_args ", base::ShellQuote(sbatch_args));
    }
    absl::StrAppend(&next, "\n");
    const std::string next_script = base::JoinPath(dir, absl::StrCat("next-", stamp, ".sh"));
    if (absl::Status w = base::WriteFileAtomically(next_script, next); !w.ok()) return w;
    std::vector<std::string> next_args = {absl::StrCat("--dependency=afterok:", *job),
                                          "--kill-on-invalid-dep=yes"};
    next_args.insert(next_args.end(), extra.begin(), extra.end());
    absl::StatusOr<std::string> follow = Submit(next_script, next_args);
    if (!follow.ok()) {
      std::error_code ec;
      std::filesystem::remove(next_script, ec);
      return absl::Status(follow.status().code(),
                          absl::StrCat(follow.status().message(), " (job array ", *job,
                                       " was submitted: once it is done, submit again for the "
                                       "next rung)"));
    }
    absl::PrintF("submitted job %s: the next rung, once job %s has succeeded\n", *follow, *job);
  }
  absl::PrintF("watch it: run_sweep --sweep %s --runs_dir %s --status\n", s.sweep_path, s.root);
  return absl::OkStatus();
}

}  // namespace malaria::experiments
