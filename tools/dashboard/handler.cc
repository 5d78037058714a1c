#include "tools/dashboard/handler.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "base/files.h"
#include "experiments/store/kfold.h"
#include "experiments/store/out_of_fold.h"
#include "experiments/store/pareto.h"
#include "experiments/store/tracker.h"
#include "nlohmann/json.hpp"
#include "tools/compare.h"
#include "tools/dashboard/assets.h"
#include "tools/dashboard/run_json.h"
#include "tools/dashboard/sweep_json.h"

namespace malaria::tools {
namespace {

namespace fs = std::filesystem;
using experiments::RunInfo;
using json = nlohmann::json;

constexpr int kMaxCompared = 50;  // runs in one comparison

// Invalid UTF-8 in a run's strings (a hostile or damaged file) becomes U+FFFD, never an error.
std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

DashboardResponse Json(int status, const json& j) {
  DashboardResponse r;
  r.status = status;
  r.content_type = "application/json; charset=utf-8";
  r.body = Dump(j);
  r.headers.push_back({"Cache-Control", "no-store"});
  return r;
}

DashboardResponse Error(int status, const std::string& message) {
  return Json(status, json{{"error", message}});
}

std::string IsoNow() { return experiments::IsoTime(std::time(nullptr)); }

// The paired patient-bootstrap difference of two experiments' pooled out-of-fold predictions
// (b - a), metric by metric: estimate, low, high; null without pools.
json PooledDifferenceJson(const experiments::PairedKFolds& p) {
  if (!p.pooled_difference) return nullptr;
  const evaluation::MetricIntervals& d = *p.pooled_difference;
  auto interval = [](const evaluation::Interval& i) -> json {
    if (!i.known()) return nullptr;
    return {{"estimate", i.estimate}, {"low", i.low}, {"high", i.high}};
  };
  return {{"patients", d.units},
          {"accuracy", interval(d.accuracy)},
          {"roc_auc", interval(d.roc_auc)},
          {"sensitivity", interval(d.sensitivity)},
          {"specificity", interval(d.specificity)}};
}

}  // namespace

DashboardHandler::DashboardHandler(std::string root) : index_(std::move(root)) {
  char* real = ::realpath(index_.root().c_str(), nullptr);
  real_root_ = real != nullptr ? real : index_.root();
  free(real);
}

std::string DashboardHandler::RunsJson(const std::string& query) {
  const auto start = std::chrono::steady_clock::now();
  const std::vector<std::shared_ptr<const experiments::IndexedRun>> scanned = index_.Scan();
  std::string runs = "[";
  std::set<double> thresholds;
  {
    std::lock_guard<std::mutex> lock(summaries_mu_);
    std::map<const experiments::IndexedRun*, CachedSummary> next;
    for (const auto& r : scanned) {
      auto it = summaries_.find(r.get());
      CachedSummary entry;
      if (it != summaries_.end()) {
        entry = std::move(it->second);
      } else {
        entry.run = r;
        entry.json = Dump(Summary(*r));
        for (const auto& t : r->run.info.time_to_accuracy())
          entry.thresholds.push_back(t.threshold());
      }
      if (experiments::SearchMatches(*r, query)) {
        if (runs.size() > 1) runs += ',';
        runs += entry.json;
        thresholds.insert(entry.thresholds.begin(), entry.thresholds.end());
      }
      next.emplace(r.get(), std::move(entry));
    }
    summaries_ = std::move(next);
  }
  runs += ']';
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  // The summaries are spliced in as text: "runs" goes last, after the other fields.
  std::string out = Dump(json{{"root", index_.root()},
                              {"host", index_.host()},
                              {"now", IsoNow()},
                              {"elapsed_ms", ms},
                              {"thresholds", thresholds}});
  out.pop_back();  // the closing brace
  absl::StrAppend(&out, ",\"runs\":", runs, "}");
  return out;
}

DashboardResponse DashboardHandler::RunJson(const std::string& id) {
  index_.Scan();
  std::shared_ptr<const experiments::IndexedRun> r = index_.Find(id);
  if (r == nullptr) return Error(404, absl::StrCat("no run '", id, "' under ", index_.root()));
  const RunFiles files = ListRunFiles(r->dir);
  const std::string prefix = r->id + "/";
  json evaluations = json::array();
  for (const auto& [name, list] : files.evaluations) {
    std::vector<std::pair<std::string, std::int64_t>> pictures, others;
    for (const auto& f : list) (absl::EndsWith(f.first, ".png") ? pictures : others).push_back(f);
    const std::string eval_prefix = absl::StrCat(prefix, "evaluations/", name, "/");
    evaluations.push_back({{"name", "evaluations/" + name},
                           {"metrics_text", ReadCapped(absl::StrCat(r->dir, "/evaluations/", name,
                                                                    "/metrics.pbtxt"))},
                           {"pictures", FileList(eval_prefix, pictures, false)},
                           {"files", FileList(eval_prefix, others, true)}});
  }
  return Json(200, json{{"run", Summary(*r)},
                        {"config_text", r->config_text},
                        {"run_info_text", ReadCapped(r->dir + "/run_info.pbtxt")},
                        {"metrics", MetricsJson(r->metrics)},
                        {"pictures", FileList(prefix, files.pictures, false)},
                        {"files", FileList(prefix, files.files, true)},
                        {"evaluations", std::move(evaluations)},
                        {"problems", r->problems}});
}

std::string DashboardHandler::CompareJson(const std::vector<std::string>& ids) {
  index_.Scan();
  std::vector<std::shared_ptr<const experiments::IndexedRun>> chosen;
  json missing = json::array();
  std::set<std::string> seen;
  for (const std::string& id : ids) {
    if (id.empty() || !seen.insert(id).second) continue;
    if (static_cast<int>(chosen.size()) >= kMaxCompared) {
      missing.push_back(absl::StrCat(id, ": at most ", kMaxCompared, " runs are compared at once"));
      continue;
    }
    std::shared_ptr<const experiments::IndexedRun> r = index_.Find(id);
    if (r == nullptr) {
      missing.push_back(absl::StrCat(id, ": no such run under the root"));
    } else if (!r->has_info || !r->has_config) {
      missing.push_back(absl::StrCat(id, ": cannot be compared (", r->problems.front(), ")"));
    } else {
      chosen.push_back(std::move(r));
    }
  }
  std::vector<experiments::LoadedRun> runs;
  json summaries = json::array(), metrics = json::object(), pictures = json::object(),
       finals = json::object();
  std::vector<std::map<std::string, std::string>> configs;
  for (const auto& r : chosen) {
    runs.push_back(r->run);
    summaries.push_back(Summary(*r));
    metrics[r->id] = MetricsJson(r->metrics);
    pictures[r->id] = FileList(r->id + "/", ListRunFiles(r->dir).pictures, false);
    if (r->run.has_final_report) {
      const auto& f = r->run.final_report;
      finals[r->id] = {{"accuracy", f.accuracy()},
                       {"roc_auc", f.roc_auc()},
                       {"sensitivity", f.sensitivity()},
                       {"specificity", f.specificity()},
                       {"f1", f.f1()},
                       {"expected_calibration_error", f.expected_calibration_error()}};
    }
    configs.push_back(FlattenFields(r->run.config));
  }
  const ComparisonTables t = MakeTables(runs);
  json kfold = json::array();
  std::vector<experiments::KFoldSummary> kfolds = experiments::SummarizeKFolds(runs);
  experiments::AddOutOfFold(&kfolds, runs);
  for (const experiments::KFoldSummary& k : kfolds) {
    const base::TextTable table = experiments::KFoldTable(k);
    kfold.push_back({{"experiment", k.experiment},
                     {"folds", k.folds},
                     {"missing", k.missing},
                     {"header", table.header},
                     {"rows", table.rows},
                     {"pooled", k.pooled ? experiments::PooledLine(*k.pooled) : k.pooled_note}});
  }
  json paired = json::array();
  for (const experiments::PairedKFolds& p : experiments::PairAll(kfolds, runs)) {
    const base::TextTable table = experiments::PairedTable(p);
    paired.push_back({{"a", p.a},
                      {"b", p.b},
                      {"folds", p.folds},
                      {"unpaired", p.unpaired},
                      {"header", table.header},
                      {"rows", table.rows},
                      {"pooled", PooledDifferenceJson(p)}});
  }
  // Accuracy against compute: one point per k-fold experiment, and whether it is on the front.
  json pareto = json::array();
  const std::vector<experiments::ParetoPoint> points = experiments::PointsFromKFolds(kfolds);
  const std::vector<bool> front_tflop =
      experiments::OnFront(points, &experiments::ParetoPoint::tflop);
  const std::vector<bool> front_minutes =
      experiments::OnFront(points, &experiments::ParetoPoint::minutes);
  for (size_t i = 0; i < points.size(); ++i) {
    const experiments::ParetoPoint& p = points[i];
    auto on = [&](const std::vector<bool>& front) { return bool(front[i]); };
    pareto.push_back({{"experiment", p.name},
                      {"folds", p.folds},
                      {"accuracy", NumberOrNull(p.accuracy)},
                      {"accuracy_sd", NumberOrNull(p.accuracy_sd)},
                      {"roc_auc", NumberOrNull(p.roc_auc)},
                      {"tflop", NumberOrNull(p.tflop)},
                      {"minutes", NumberOrNull(p.minutes)},
                      {"front_tflop", on(front_tflop)},
                      {"front_minutes", on(front_minutes)}});
  }
  // Numeric config fields that differ, for the scatter of a field against a metric.
  json numeric_fields = json::array(), numeric_values = json::object();
  for (const std::string& field : DifferingFields(configs)) {
    std::vector<double> values;
    for (const auto& c : configs) {
      auto it = c.find(field);
      double v;
      if (it != c.end() && absl::SimpleAtod(it->second, &v) && std::isfinite(v)) {
        values.push_back(v);
      }
    }
    if (values.size() != configs.size()) continue;
    numeric_fields.push_back(field);
    for (size_t i = 0; i < chosen.size(); ++i) numeric_values[chosen[i]->id][field] = values[i];
  }
  return Dump(json{{"runs", std::move(summaries)},
                   {"missing", std::move(missing)},
                   {"tables",
                    {{"runs", TableJson(t.runs)},
                     {"accuracy", TableJson(t.accuracy)},
                     {"time", TableJson(t.time)},
                     {"final", TableJson(t.final)},
                     {"reached", TableJson(t.reached)},
                     {"config", TableJson(t.config)}}},
                   {"metrics", std::move(metrics)},
                   {"pictures", std::move(pictures)},
                   {"kfold", std::move(kfold)},
                   {"paired", std::move(paired)},
                   {"pareto", std::move(pareto)},
                   {"numeric_config", {{"fields", numeric_fields}, {"values", numeric_values}}},
                   {"final_metrics", std::move(finals)}});
}

DashboardResponse DashboardHandler::ResolveFile(const std::string& relative) {
  if (relative.find('\0') != std::string::npos) return Error(400, "NUL byte in the path");
  if (relative.empty()) return Error(404, "no file named");
  if (relative[0] == '/') return Error(400, "absolute paths are refused");
  for (absl::string_view part : absl::StrSplit(relative, '/')) {
    if (part.empty() || part == "." || part == "..") {
      return Error(400, "paths with '.', '..' or empty parts are refused");
    }
  }
  const std::string full = real_root_ + "/" + relative;
  char* real = ::realpath(full.c_str(), nullptr);
  if (real == nullptr) return Error(404, "no such file");
  const std::string resolved = real;
  free(real);
  if (!absl::StartsWith(resolved, real_root_ + "/")) return Error(404, "no such file");
  struct stat st;
  if (::stat(resolved.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return Error(404, "no such file");
  }
  DashboardResponse r;
  r.file = resolved;
  r.file_size = st.st_size;
  const std::string ext = absl::AsciiStrToLower(fs::path(resolved).extension().string());
  if (ext == ".png") {
    r.content_type = "image/png";
  } else if (ext == ".csv") {
    r.content_type = "text/csv; charset=utf-8";
  } else if (ext == ".txt" || ext == ".pbtxt" || ext == ".log") {
    r.content_type = "text/plain; charset=utf-8";
  } else {
    // Anything else (checkpoints; an .html someone left in a run) is a download, never a page.
    r.content_type = "application/octet-stream";
    r.headers.push_back(
        {"Content-Disposition",
         absl::StrCat("attachment; filename=\"", fs::path(resolved).filename().string(), "\"")});
  }
  if (absl::StartsWith(r.content_type, "text/")) {
    r.headers.push_back({"Content-Security-Policy", "default-src 'none'"});
  }
  return r;
}

DashboardResponse DashboardHandler::Handle(const std::string& path,
                                           const std::multimap<std::string, std::string>& params) {
  auto param = [&](const std::string& name) {
    auto it = params.find(name);
    return it == params.end() ? std::string() : it->second;
  };
  if (path.size() > kMaxUrlPath) return Error(414, "path too long");
  if (path.find('\0') != std::string::npos) return Error(400, "NUL byte in the path");
  if (path == "/api/runs") {
    DashboardResponse r = Json(200, json());
    r.body = RunsJson(param("q"));
    return r;
  }
  if (path == "/api/run") return RunJson(param("id"));
  if (path == "/api/compare") {
    DashboardResponse r = Json(200, json());
    r.body = CompareJson(absl::StrSplit(param("ids"), ',', absl::SkipEmpty()));
    return r;
  }
  if (path == "/api/sweeps" || path == "/api/sweep") {
    std::vector<experiments::LoadedRun> runs;
    for (const auto& r : index_.Scan()) {
      if (r->has_info && r->run.info.has_sweep()) runs.push_back(r->run);
    }
    if (path == "/api/sweeps") return Json(200, SweepsJson(index_.root(), runs, index_.host()));
    absl::StatusOr<json> sweep = SweepJson(index_.root(), param("name"), runs, index_.host());
    if (!sweep.ok()) {
      return Error(absl::IsNotFound(sweep.status()) ? 404 : 500,
                   std::string(sweep.status().message()));
    }
    return Json(200, *sweep);
  }
  if (absl::StartsWith(path, "/files/")) return ResolveFile(path.substr(7));
  const std::string asset_path = path == "/index.html" ? "/" : path;
  for (const Asset& a : DashboardAssets()) {
    if (a.path != asset_path) continue;
    DashboardResponse r;
    r.content_type = std::string(a.content_type);
    r.body = std::string(a.bytes);
    if (a.path == "/") {
      // Scripts only from the dashboard itself: a run's text can never run as script.
      r.headers.push_back({"Content-Security-Policy",
                           "default-src 'self'; img-src 'self' data:; "
                           "style-src 'self' 'unsafe-inline'; object-src 'none'; "
                           "base-uri 'none'; frame-ancestors 'none'"});
    }
    return r;
  }
  return Error(404, absl::StrCat("no page ", path));
}

}  // namespace malaria::tools
