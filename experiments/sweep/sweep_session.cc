#include "experiments/sweep/sweep_session.h"

#include <filesystem>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "base/files.h"
#include "base/main.h"
#include "experiments/config.h"
#include "experiments/runner.h"
#include "experiments/store/runs_root.h"
#include "experiments/store/tracker.h"
#include "experiments/sweep/sweep_spec.h"
#include "experiments/sweep/trial_claim.h"

namespace malaria::experiments {
namespace {

// The experiment every trial starts from, as the files say now.
absl::StatusOr<ExperimentConfig> ResolvedExperiment(const SweepConfig& sweep,
                                                    const std::string& workspace) {
  absl::StatusOr<ExperimentConfig> experiment = LoadSweepExperiment(sweep, workspace);
  if (!experiment.ok()) return experiment.status();
  FillDefaults(&*experiment);
  return experiment;
}

KeptSweep KeptOf(const OpenedSweep& s) {
  KeptSweep kept;
  *kept.mutable_config() = s.config;
  *kept.mutable_experiment() = s.experiment;
  kept.set_experiment_folds(s.k);
  return kept;
}

// FailedPrecondition when the experiment differs from `kept`, naming how.
absl::Status RequireSameExperiment(const OpenedSweep& s, const ExperimentConfig& kept,
                                   const ExperimentConfig& now, const std::string& since) {
  const std::string changes = ExperimentChanges(kept, now);
  if (changes.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "sweep ", s.config.name(), ": its experiment ", s.experiment_path, " (with the sweep's set) ",
      "changed since ", since, ":\n", changes,
      "Trials of one sweep must differ only in their axes: restore the experiment, or give this "
      "sweep another name"));
}

// Records the trial fold `options` ran, refused before it started with `refusal`, as a FAILED
// run, its config applied as far as it applies (the reason says the rest).
absl::Status RecordRefusal(const OpenedSweep& s, const RunOptions& options,
                           const absl::Status& refusal) {
  ExperimentConfig config = s.experiment;
  for (const std::string& o : options.overrides) {
    if (!ApplyOverride(o, &config).ok()) break;
  }
  FillDefaults(&config);
  absl::StatusOr<std::string> dir = RecordRefusedRun(options, config, refusal);
  if (!dir.ok()) return dir.status();
  absl::FPrintF(stderr,
                "\nFAILED: refused before it started: %s\nRecorded as failed (the sweep "
                "goes on): %s\n",
                refusal.message(), *dir);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<OpenedSweep> OpenSweep(const std::string& sweep_path, const std::string& runs_dir,
                                      const std::vector<std::string>& command_line) {
  if (sweep_path.empty()) return absl::InvalidArgumentError("--sweep is required");
  OpenedSweep s;
  s.sweep_path = std::filesystem::absolute(base::ResolveUserPath(sweep_path)).string();
  absl::StatusOr<SweepConfig> config = LoadSweepConfig(s.sweep_path);
  if (!config.ok()) return config.status();
  s.config = *std::move(config);
  // The workspace rule of a run, with the sweep file in the config's place.
  RunOptions where;
  where.config_path = s.sweep_path;
  s.workspace = RunWorkspace(where);
  // The experiment as checked (read once), its defaults written out.
  if (absl::Status v = ValidateSweep(s.config, s.workspace, &s.experiment); !v.ok()) return v;
  FillDefaults(&s.experiment);
  s.experiment_path =
      std::filesystem::absolute(SweepExperimentPath(s.config, s.workspace)).string();
  s.k = s.experiment.data().split().patient_kfold().folds();
  s.root = TrackerRoot(runs_dir, s.experiment.tracker().root(), s.workspace);
  s.command_line = command_line;

  absl::StatusOr<KeptSweep> kept = ReadKeptSweep(s.root, s.config.name());
  if (!kept.ok()) {
    if (absl::IsNotFound(kept.status())) return s;
    return kept.status();
  }
  const std::string kept_path = KeptSweepConfigPath(s.root, s.config.name());
  if (SweepSpecText(kept->config()) != SweepSpecText(s.config)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "sweep ", s.config.name(), " in ", s.root, " was started with another config (", kept_path,
        "); only its budget may change. Give this sweep another name"));
  }
  if (kept->has_experiment()) {
    if (absl::Status same =
            RequireSameExperiment(s, kept->experiment(), s.experiment,
                                  absl::StrCat("the sweep started (kept in ", kept_path, ")"));
        !same.ok()) {
      return same;
    }
  }
  s.kept = ToText(*kept) == ToText(KeptOf(s));
  return s;
}

absl::StatusOr<SweepState> ReadSweepStateOf(const OpenedSweep& s, bool retry_failed) {
  return ReadSweepState(s.config, s.k, s.runs->Refresh(s.root, s.config.name()), HostName(),
                        retry_failed);
}

absl::Status KeepSweep(const OpenedSweep& s) {
  if (s.kept) return absl::OkStatus();
  if (absl::Status m = base::MakeDirs(base::JoinPath(s.root, "sweeps")); !m.ok()) return m;
  return base::WriteFileAtomically(KeptSweepConfigPath(s.root, s.config.name()), ToText(KeptOf(s)));
}

absl::StatusOr<std::optional<int>> RunClaimedTrialFold(const OpenedSweep& s, const TrialWork& work,
                                                       bool retry_failed) {
  std::string holder;
  absl::StatusOr<std::unique_ptr<TrialClaim>> claim =
      TrialClaim::TryClaim(s.root, s.config.name(), work.trial, work.fold, &holder);
  if (!claim.ok()) return claim.status();
  if (*claim == nullptr) {
    absl::PrintF("\n===== sweep %s: trial %d, fold %d: claimed by %s; left to it =====\n",
                 s.config.name(), work.trial, work.fold, holder);
    return std::nullopt;
  }
  // Read again under the claim: another process may have run the fold since the plan was read.
  absl::StatusOr<SweepState> state = ReadSweepStateOf(s, retry_failed);
  if (!state.ok()) return state.status();
  const TrialWork* now = nullptr;
  for (const TrialWork& w : state->todo) {
    if (w.trial == work.trial && w.fold == work.fold) now = &w;
  }
  if (now == nullptr) {
    absl::PrintF(
        "\n===== sweep %s: trial %d, fold %d: run by another process meanwhile; left "
        "to it =====\n",
        s.config.name(), work.trial, work.fold);
    return std::nullopt;
  }
  const TrialState& trial = state->trials[work.trial];

  RunOptions options;
  options.workspace = s.workspace;
  options.command_line = s.command_line;
  if (now->resume_dir.empty()) {
    // The experiment file may have been edited while the sweep ran.
    absl::StatusOr<ExperimentConfig> current = ResolvedExperiment(s.config, s.workspace);
    if (!current.ok()) return current.status();
    if (absl::Status same =
            RequireSameExperiment(s, s.experiment, *current, "this sweep command started");
        !same.ok()) {
      return same;
    }
    absl::PrintF("\n===== sweep %s: trial %d, fold %d: %s =====\n", s.config.name(), work.trial,
                 work.fold, absl::StrJoin(trial.assignment, " "));
    options.config_path = s.experiment_path;
    options.overrides = TrialOverrides(s.config, trial, work.fold);
    options.runs_dir = s.root;
    options.sweep_trial = SweepTrialTag(s.config, trial, work.fold);
  } else {
    absl::PrintF("\n===== sweep %s: trial %d, fold %d: resuming %s =====\n", s.config.name(),
                 work.trial, work.fold, now->resume_dir);
    options.resume_dir = now->resume_dir;
  }
  std::fflush(stdout);
  absl::StatusOr<RunResult> result = RunExperiment(options);
  if (!result.ok()) {
    const bool refused =
        absl::IsInvalidArgument(result.status()) || absl::IsFailedPrecondition(result.status());
    if (!refused || !now->resume_dir.empty()) return result.status();
    if (absl::Status r = RecordRefusal(s, options, result.status()); !r.ok()) return r;
    return base::kExitFailed;
  }
  return ReportEnd(*result, true, stdout, stderr);
}

}  // namespace malaria::experiments
