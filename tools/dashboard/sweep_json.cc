#include "tools/dashboard/sweep_json.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "experiments/sweep/sweep_spec.h"
#include "experiments/sweep/sweep_state.h"
#include "tools/dashboard/run_json.h"

namespace malaria::tools {
namespace {

using experiments::SweepConfig;
using experiments::SweepRecord;
using experiments::TrialFold;
using experiments::TrialState;
using json = nlohmann::json;

std::string MethodName(const SweepConfig& s) {
  switch (s.method_case()) {
    case SweepConfig::kRandom:
      return "random";
    case SweepConfig::kSuccessiveHalving:
      return "successive halving";
    default:
      return "grid";
  }
}

const char* FoldStatusName(TrialFold::Status s) {
  switch (s) {
    case TrialFold::kRunning:
      return "RUNNING";
    case TrialFold::kResumable:
      return "RESUMABLE";
    case TrialFold::kFailed:
      return "FAILED";
    case TrialFold::kCompleted:
      return "COMPLETED";
    default:
      return "NOT_STARTED";
  }
}

// A run directory as the dashboard's run id (relative to the root), "" outside it.
std::string RunId(const std::string& root, const std::string& dir) {
  std::string prefix = root;
  if (!absl::EndsWith(prefix, "/")) prefix += "/";
  return absl::StartsWith(dir, prefix) ? dir.substr(prefix.size()) : "";
}

json Header(const SweepRecord& r) {
  const SweepConfig& s = r.config;
  int done = 0;
  for (const TrialState& t : r.state.trials) done += t.Done();
  json best = nullptr;
  if (r.state.best >= 0) {
    const TrialState& t = r.state.trials[r.state.best];
    best = {{"trial", t.trial},
            {"objective", NumberOrNull(t.objective)},
            {"objective_sd", NumberOrNull(t.objective_sd)},
            {"assignment", t.assignment}};
  }
  return {{"name", s.name()},
          {"description", s.description()},
          {"experiment", s.experiment()},
          {"method", MethodName(s)},
          {"metric", s.objective().metric()},
          {"goal",
           s.objective().goal() == experiments::SweepObjective::MINIMIZE ? "minimize" : "maximize"},
          {"trials", r.state.trials.size()},
          {"done", done},
          {"finished", r.state.finished},
          {"rungs", r.state.rungs},
          {"tflop", r.state.tflop},
          {"hours", r.state.hours},
          {"best", best}};
}

}  // namespace

json SweepsJson(const std::string& root, const std::vector<experiments::LoadedRun>& runs,
                const std::string& host) {
  json list = json::array();
  for (const std::string& name : experiments::ListSweeps(root)) {
    absl::StatusOr<SweepRecord> r = experiments::ReadSweep(root, name, runs, host);
    if (!r.ok()) {
      list.push_back({{"name", name}, {"error", std::string(r.status().message())}});
      continue;
    }
    list.push_back(Header(*r));
  }
  return {{"sweeps", list}};
}

absl::StatusOr<json> SweepJson(const std::string& root, const std::string& name,
                               const std::vector<experiments::LoadedRun>& runs,
                               const std::string& host) {
  absl::StatusOr<SweepRecord> r = experiments::ReadSweep(root, name, runs, host);
  if (!r.ok()) return r.status();
  const SweepConfig& s = r->config;
  json out = Header(*r);
  json axes = json::array();
  for (const auto& a : s.axis()) axes.push_back(a.field());
  out["axes"] = axes;
  json trials = json::array();
  for (size_t i = 0; i < r->state.trials.size(); ++i) {
    const TrialState& t = r->state.trials[i];
    json values = json::array(), numeric = json::array(), folds = json::array();
    for (int a = 0; a < s.axis_size(); ++a) {
      const std::string v = t.assignment[a].substr(t.assignment[a].find('=') + 1);
      double d;
      values.push_back(v);
      numeric.push_back(absl::SimpleAtod(v, &d) && std::isfinite(d) ? json(d) : json(nullptr));
    }
    double tflop = 0, seconds = 0;
    for (const TrialFold& f : t.folds) {
      tflop += f.tflop;
      seconds += f.seconds;
      folds.push_back({{"fold", f.fold},
                       {"status", FoldStatusName(f.status)},
                       {"run", RunId(root, f.run_dir)},
                       {"objective", f.status == TrialFold::kCompleted ? NumberOrNull(f.objective)
                                                                       : json(nullptr)}});
    }
    trials.push_back({{"trial", t.trial},
                      {"rung", t.rung},
                      {"candidate", t.candidate},
                      {"epochs", t.epochs},
                      {"values", values},
                      {"numeric", numeric},
                      {"folds", folds},
                      {"objective", NumberOrNull(t.objective)},
                      {"objective_sd", NumberOrNull(t.objective_sd)},
                      {"tflop", t.Started() ? NumberOrNull(tflop) : json(nullptr)},
                      {"minutes", t.Started() ? NumberOrNull(seconds / 60) : json(nullptr)},
                      {"status", experiments::TrialStatus(t, r->state.budget_spent)},
                      {"end_time", t.Completed() ? json(t.EndTime()) : json(nullptr)},
                      {"best", t.trial == r->state.best}});
  }
  out["trials"] = trials;
  // Best so far, in the order trials completed (their last fold's end), within the final rung's
  // budget: every completed trial, and whether it set a new best.
  std::vector<const TrialState*> order;
  for (const TrialState& t : r->state.trials) {
    if (std::isfinite(t.objective)) order.push_back(&t);
  }
  std::stable_sort(order.begin(), order.end(), [](const TrialState* a, const TrialState* b) {
    return a->EndTime() < b->EndTime();
  });
  const bool minimize = s.objective().goal() == experiments::SweepObjective::MINIMIZE;
  json series = json::array();
  double best = std::nan("");
  for (size_t i = 0; i < order.size(); ++i) {
    const double v = order[i]->objective;
    const bool better = !std::isfinite(best) || (minimize ? v < best : v > best);
    if (better) best = v;
    series.push_back({{"n", i + 1},
                      {"trial", order[i]->trial},
                      {"rung", order[i]->rung},
                      {"objective", v},
                      {"best_so_far", best},
                      {"new_best", better}});
  }
  out["best_so_far"] = series;
  out["table"] = TableJson(experiments::SweepTable(s, r->state));
  out["summary"] = experiments::SweepSummary(s, r->state);
  return out;
}

}  // namespace malaria::tools
