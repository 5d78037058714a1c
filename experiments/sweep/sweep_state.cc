#include "experiments/sweep/sweep_state.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/files.h"
#include "base/text_proto.h"
#include "experiments/store/kfold.h"
#include "experiments/store/tracker.h"
#include "experiments/sweep/sweep_spec.h"
#include "google/protobuf/util/message_differencer.h"

namespace malaria::experiments {
namespace {

double OrZero(double v) { return std::isfinite(v) ? v : 0.0; }

// The objective metric of each completed fold of each trial: experiment name -> fold -> value.
std::map<std::string, std::map<int, double>> ObjectiveByTrial(const SweepConfig& sweep,
                                                              const std::vector<LoadedRun>& runs) {
  std::map<std::string, std::map<int, double>> out;
  for (const KFoldSummary& s : SummarizeKFolds(runs)) {
    for (const FoldedMetric& m : s.metrics) {
      if (m.name != sweep.objective().metric()) continue;
      for (size_t i = 0; i < s.present.size() && i < m.values.size(); ++i) {
        out[s.experiment][s.present[i]] = m.values[i];
      }
    }
  }
  return out;
}

// Fills `trial`'s folds from `runs` (those of its trial number, by fold).
void ReadFolds(const std::vector<const LoadedRun*>& runs, const std::vector<int>& folds,
               const std::map<int, double>& objectives, const std::string& host, bool retry_failed,
               TrialState* trial) {
  trial->folds.clear();
  for (int f : folds) {
    TrialFold tf;
    tf.fold = f;
    const LoadedRun* latest = nullptr;
    const LoadedRun* completed = nullptr;
    for (const LoadedRun* r : runs) {
      if (r->info.sweep().fold() != f) continue;
      tf.tflop += OrZero(r->info.training_tflop());
      tf.seconds += OrZero(TrainingSeconds(r->info));
      if (latest == nullptr || r->info.run_id() > latest->info.run_id()) latest = r;
      if (r->info.status() == RunInfo::COMPLETED &&
          (completed == nullptr || r->info.run_id() > completed->info.run_id())) {
        completed = r;
      }
    }
    if (completed != nullptr) {
      tf.status = TrialFold::kCompleted;
      tf.run_dir = completed->dir.path();
      tf.end_time = completed->info.end_time();
      const auto it = objectives.find(f);
      tf.objective = it != objectives.end() ? it->second : std::nan("");
    } else if (latest != nullptr) {
      tf.run_dir = latest->dir.path();
      switch (latest->info.status()) {
        case RunInfo::RUNNING:
          tf.status = latest->info.host() == host && !ProcessAlive(latest->info.pid())
                          ? TrialFold::kResumable
                          : TrialFold::kRunning;
          break;
        case RunInfo::FAILED:
          tf.not_started = latest->info.not_started();
          tf.status = !retry_failed    ? TrialFold::kFailed
                      : tf.not_started ? TrialFold::kNotStarted
                                       : TrialFold::kResumable;
          break;
        default:
          tf.status = TrialFold::kResumable;
      }
    }
    trial->folds.push_back(tf);
  }
  trial->objective = trial->objective_sd = std::nan("");
  if (trial->Completed()) {
    std::vector<double> values;
    for (const TrialFold& tf : trial->folds) values.push_back(tf.objective);
    const FoldedMetric m = Folded("objective", values);
    if (m.counted == static_cast<int>(values.size())) {
      trial->objective = m.mean;
      trial->objective_sd = m.sd;
    }
  }
}

}  // namespace

bool ObjectiveBetter(const SweepConfig& sweep, double a, double b) {
  if (!std::isfinite(a)) return false;
  if (!std::isfinite(b)) return true;
  return sweep.objective().goal() == SweepObjective::MINIMIZE ? a < b : a > b;
}

bool TrialState::Done() const {
  for (const TrialFold& f : folds) {
    if (f.status != TrialFold::kCompleted && f.status != TrialFold::kFailed) return false;
  }
  return true;
}

bool TrialState::Started() const {
  for (const TrialFold& f : folds) {
    if (f.status != TrialFold::kNotStarted) return true;
  }
  return false;
}

bool TrialState::Completed() const {
  for (const TrialFold& f : folds) {
    if (f.status != TrialFold::kCompleted) return false;
  }
  return true;
}

std::string TrialStatus(const TrialState& t, bool budget_spent) {
  int running = 0, resumable = 0, failed = 0, completed = 0;
  for (const TrialFold& f : t.folds) {
    running += f.status == TrialFold::kRunning;
    resumable += f.status == TrialFold::kResumable;
    failed += f.status == TrialFold::kFailed;
    completed += f.status == TrialFold::kCompleted;
  }
  if (running > 0) return "running";
  if (failed > 0) return "failed";
  if (resumable > 0) return "resumable";
  if (completed == static_cast<int>(t.folds.size())) return "done";
  if (!t.Started()) return budget_spent ? "not run (budget)" : "pending";
  return "partial";
}

std::string TrialState::EndTime() const {
  std::string end;
  for (const TrialFold& f : folds) end = std::max(end, f.end_time);
  return end;
}

bool IsTrialFolder(absl::string_view folder, absl::string_view name) {
  // TrialExperimentName: "<name>-t" and the trial's digits.
  if (!absl::ConsumePrefix(&folder, name) || !absl::ConsumePrefix(&folder, "-t")) return false;
  return !folder.empty() && std::all_of(folder.begin(), folder.end(), [](char c) {
    return absl::ascii_isdigit(static_cast<unsigned char>(c));
  });
}

std::vector<LoadedRun> SweepRuns(const std::string& root, const std::string& name) {
  SweepRunCache cache;
  return cache.Refresh(root, name);
}

const std::vector<LoadedRun>& SweepRunCache::Refresh(const std::string& root,
                                                     const std::string& name) {
  // Only the sweep's own experiment folders are read, however many other runs share the root.
  std::vector<std::string> folders;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(root, ec)) {
    if (entry.is_directory(ec) && IsTrialFolder(entry.path().filename().string(), name)) {
      folders.push_back(entry.path().string());
    }
  }
  std::sort(folders.begin(), folders.end());
  std::vector<LoadedRun> runs;
  std::map<std::string, Entry> seen;
  for (const std::string& folder : folders) {
    for (const std::string& dir : FindRuns(folder)) {
      const std::filesystem::path info = std::filesystem::path(dir) / "run_info.pbtxt";
      Entry now;
      now.modified = std::filesystem::last_write_time(info, ec);
      now.size = std::filesystem::file_size(info, ec);
      auto it = entries_.find(dir);
      if (it != entries_.end() && it->second.modified == now.modified &&
          it->second.size == now.size) {
        if (it->second.run >= 0) {  // moved, not copied, from the last Refresh's runs
          now.run = static_cast<int>(runs.size());
          runs.push_back(std::move(runs_[it->second.run]));
        }
      } else {
        ++loads_;
        absl::StatusOr<LoadedRun> run = LoadRun(dir);
        if (run.ok() && run->info.sweep().sweep() == name) {
          now.run = static_cast<int>(runs.size());
          runs.push_back(*std::move(run));
        }
      }
      seen[dir] = now;
    }
  }
  entries_ = std::move(seen);  // runs removed since are forgotten
  runs_ = std::move(runs);
  return runs_;
}

absl::StatusOr<SweepState> ReadSweepState(const SweepConfig& sweep, int k,
                                          const std::vector<LoadedRun>& runs,
                                          const std::string& host, bool retry_failed) {
  SweepState state;
  const std::vector<int> folds = SweepFolds(sweep, k);
  const std::vector<std::vector<std::string>> candidates = SweepCandidates(sweep);
  const std::vector<int> rung_epochs = RungEpochs(sweep);
  state.rungs = std::max<int>(1, rung_epochs.size());
  const int cap = sweep.budget().max_trials() > 0 ? sweep.budget().max_trials() : 1 << 30;
  const int eta = std::max(2, sweep.successive_halving().eta());

  std::map<int, std::vector<const LoadedRun*>> by_trial;
  for (const LoadedRun& r : runs) by_trial[r.info.sweep().trial()].push_back(&r);
  const auto objectives = ObjectiveByTrial(sweep, runs);
  for (const LoadedRun& r : runs) {
    state.tflop += OrZero(r.info.training_tflop());
    state.hours += OrZero(TrainingSeconds(r.info)) / 3600;
  }

  auto add_trial = [&](int candidate, int rung) {
    TrialState t;
    t.trial = static_cast<int>(state.trials.size());
    t.candidate = candidate;
    t.rung = rung;
    t.assignment = candidates[candidate];
    if (!rung_epochs.empty()) {
      t.epochs = rung_epochs[rung];
      t.assignment.push_back(
          absl::StrCat(sweep.successive_halving().epochs_field(), "=", t.epochs));
    }
    static const std::map<int, double> kNone;
    const auto it = objectives.find(TrialExperimentName(sweep, t.trial));
    ReadFolds(by_trial[t.trial], folds, it != objectives.end() ? it->second : kNone, host,
              retry_failed, &t);
    state.trials.push_back(std::move(t));
  };

  std::vector<int> rung_members;  // candidates of the rung being planned
  for (int c = 0; c < static_cast<int>(candidates.size()); ++c) rung_members.push_back(c);
  for (int rung = 0; rung < state.rungs; ++rung) {
    const size_t first = state.trials.size();
    for (int c : rung_members) {
      if (static_cast<int>(state.trials.size()) >= cap) break;
      add_trial(c, rung);
    }
    state.current_rung = rung;
    if (rung + 1 == state.rungs) break;
    // The next rung once this one is done: the best ceil(n / eta) of its completed trials.
    std::vector<const TrialState*> done;
    bool all_done = state.trials.size() > first;
    for (size_t i = first; i < state.trials.size(); ++i) {
      all_done = all_done && state.trials[i].Done();
      if (std::isfinite(state.trials[i].objective)) done.push_back(&state.trials[i]);
    }
    if (!all_done || done.empty()) break;
    std::stable_sort(done.begin(), done.end(), [&](const TrialState* a, const TrialState* b) {
      return ObjectiveBetter(sweep, a->objective, b->objective);
    });
    const size_t n = state.trials.size() - first;
    done.resize(std::min(done.size(), (n + eta - 1) / eta));
    rung_members.clear();
    for (const TrialState* t : done) rung_members.push_back(t->candidate);
    std::sort(rung_members.begin(), rung_members.end());
  }

  // Every run must be one the plan has, with the plan's assignment.
  for (const auto& [trial, trial_runs] : by_trial) {
    for (const LoadedRun* r : trial_runs) {
      const std::vector<std::string> recorded(r->info.sweep().assignment().begin(),
                                              r->info.sweep().assignment().end());
      const bool planned = trial >= 0 && trial < static_cast<int>(state.trials.size());
      if (planned && recorded == state.trials[trial].assignment) continue;
      if (!planned && trial >= 0 && state.trials.size() < static_cast<size_t>(cap)) {
        continue;  // a later rung's run while this one is re-planned (a fold retried): kept
      }
      if (!planned && trial >= cap) {
        return absl::FailedPreconditionError(
            absl::StrCat("sweep ", sweep.name(), ": budget.max_trials is ", cap, " but trial ",
                         trial, " already has runs (", r->dir.path(),
                         "); a budget may be raised, not lowered below what ran"));
      }
      return absl::FailedPreconditionError(absl::StrCat(
          "sweep ", sweep.name(), ": run ", r->dir.path(), " records trial ", trial, " as {",
          absl::StrJoin(recorded, ", "), "} but this sweep config plans ",
          planned ? absl::StrCat("{", absl::StrJoin(state.trials[trial].assignment, ", "), "}")
                  : "no such trial",
          ": the sweep config changed under the same name; give the new one another name"));
    }
  }

  const SweepBudget& b = sweep.budget();
  state.budget_spent = (b.max_tflop() > 0 && state.tflop >= b.max_tflop()) ||
                       (b.max_hours() > 0 && state.hours >= b.max_hours());
  bool running = false;
  for (const TrialState& t : state.trials) {
    const bool may_start = t.Started() || !state.budget_spent;
    for (const TrialFold& f : t.folds) {
      running = running || f.status == TrialFold::kRunning;
      if (f.status == TrialFold::kNotStarted && may_start) {
        state.todo.push_back({t.trial, f.fold, ""});
      } else if (f.status == TrialFold::kResumable) {
        state.todo.push_back({t.trial, f.fold, f.run_dir});
      }
    }
  }
  bool last_rung_done = true;
  for (const TrialState& t : state.trials) {
    if (t.rung == state.current_rung) last_rung_done = last_rung_done && (t.Done() || !t.Started());
  }
  const bool more_rungs = state.current_rung + 1 < state.rungs && !state.budget_spent &&
                          static_cast<int>(state.trials.size()) < cap;
  // Without folds (a sweep whose experiment is unknown) nothing can be said to be done.
  state.finished =
      !folds.empty() && state.todo.empty() && !running && last_rung_done && !more_rungs;
  // A rung that could not promote anyone (every trial failed) ends the sweep too.
  if (state.todo.empty() && !running && last_rung_done && more_rungs) {
    bool any = false;
    for (const TrialState& t : state.trials) {
      any = any || (t.rung == state.current_rung && std::isfinite(t.objective));
    }
    state.finished = !any;
  }

  // The best: of the highest rung with a completed trial.
  int best_rung = -1;
  for (const TrialState& t : state.trials) {
    if (std::isfinite(t.objective)) best_rung = std::max(best_rung, t.rung);
  }
  for (const TrialState& t : state.trials) {
    if (t.rung != best_rung || !std::isfinite(t.objective)) continue;
    if (state.best < 0 || ObjectiveBetter(sweep, t.objective, state.trials[state.best].objective)) {
      state.best = t.trial;
    }
  }
  return state;
}

SweepTrial SweepTrialTag(const SweepConfig& sweep, const TrialState& trial, int fold) {
  SweepTrial tag;
  tag.set_sweep(sweep.name());
  tag.set_trial(trial.trial);
  tag.set_candidate(trial.candidate);
  tag.set_rung(trial.rung);
  for (const std::string& a : trial.assignment) tag.add_assignment(a);
  tag.set_fold(fold);
  return tag;
}

std::vector<std::string> TrialOverrides(const SweepConfig& sweep, const TrialState& trial,
                                        int fold) {
  std::vector<std::string> sets(sweep.set().begin(), sweep.set().end());
  sets.insert(sets.end(), trial.assignment.begin(), trial.assignment.end());
  sets.push_back(absl::StrCat("name=", TrialExperimentName(sweep, trial.trial)));
  sets.push_back(absl::StrCat("data.split.patient_kfold.fold=", fold));
  return sets;
}

}  // namespace malaria::experiments
