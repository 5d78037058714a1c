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
#include "experiments/store/tracker.h"
#include "nlohmann/json.hpp"
#include "tools/compare.h"
#include "tools/dashboard/assets.h"

namespace malaria::tools {
namespace {

namespace fs = std::filesystem;
using experiments::RunInfo;
using json = nlohmann::json;

constexpr int kMaxCompared = 50;      // runs in one comparison
constexpr int kMaxListedFiles = 500;  // files listed per run page section
constexpr size_t kMaxInlineText = 256 * 1024;

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

json NumberOrNull(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

// A metrics.csv cell: a number where it parses, else the text.
json Cell(const std::string& s) {
  double v;
  if (absl::SimpleAtod(s, &v) && std::isfinite(v)) return v;
  return s;
}

json TableJson(const base::TextTable& t) {
  return json{{"title", t.title}, {"header", t.header}, {"rows", t.rows}};
}

json MetricsJson(const experiments::CsvTable& t) {
  json rows = json::array();
  for (const auto& row : t.rows) {
    json cells = json::array();
    for (const std::string& c : row) cells.push_back(Cell(c));
    rows.push_back(std::move(cells));
  }
  return json{{"columns", t.columns}, {"rows", std::move(rows)}};
}

// "/files/" + the path relative to the root, percent-encoded except for unreserved characters and
// '/' (an experiment named "a b#1" still gives a working link).
std::string FilesUrl(const std::string& relative) {
  std::string url = "/files/";
  for (unsigned char c : relative) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '/') {
      url += static_cast<char>(c);
    } else {
      absl::StrAppendFormat(&url, "%%%02X", c);
    }
  }
  return url;
}

// A RUNNING run that has not written for this long probably died on a machine this dashboard
// cannot check: three epochs' worth of its mean time, and at least 10 minutes.
double StaleAfterSeconds(const RunInfo& info) {
  double longest_epoch = 0;
  for (const auto& s : info.stage())
    longest_epoch = std::max(longest_epoch, s.mean_epoch_seconds());
  return std::max(600.0, 3 * longest_epoch);
}

json Summary(const experiments::IndexedRun& r) {
  const RunInfo& info = r.run.info;
  json j = {
      {"id", r.id},
      {"experiment",
       info.experiment().empty() ? fs::path(r.id).parent_path().string() : info.experiment()},
      {"run_id", info.run_id().empty() ? fs::path(r.id).filename().string() : info.run_id()},
      {"status", r.status},
      {"reason", r.reason},
      {"user", info.user()},
      {"host", info.host()},
      {"git_commit", info.git_commit().substr(0, 10)},
      {"git_dirty", info.git_dirty()},
      {"start_time", info.start_time()},
      {"duration_seconds", info.has_duration_seconds() ? json(info.duration_seconds()) : json()},
      {"dataset", r.has_info ? experiments::DatasetInfo::Kind_Name(info.dataset().kind()) : ""},
      {"fingerprint", info.dataset().fingerprint().substr(0, 8)},
      {"split", r.has_config ? SplitName(r.run) : ""},
      {"model", r.run.config.model().architecture()},
      {"description", r.run.config.description()},
      {"problems", r.problems.size()},
  };
  json progress = nullptr;
  if (r.status == "RUNNING" || r.status == "DIED") {
    progress = {
        {"stage", r.current_stage},
        {"epochs_done", r.epochs_done},
        {"epochs_total", r.epochs_total},
        {"fraction", r.epochs_total > 0
                         ? std::min(1.0, static_cast<double>(r.epochs_done) / r.epochs_total)
                         : 0.0},
        {"seconds_since_update", r.seconds_since_update},
        {"stale", r.status == "RUNNING" && r.seconds_since_update > StaleAfterSeconds(r.run.info)}};
  }
  j["progress"] = std::move(progress);
  double best = NAN, final_accuracy = NAN;
  for (const auto& s : info.stage()) {
    if (s.has_best_accuracy() && !(s.best_accuracy() <= best)) best = s.best_accuracy();
    if (s.has_final_accuracy()) final_accuracy = s.final_accuracy();
  }
  if (r.run.has_final_report) final_accuracy = r.run.final_report.accuracy();
  j["best_accuracy"] = NumberOrNull(best);
  j["final_accuracy"] = NumberOrNull(final_accuracy);
  j["roc_auc"] = r.run.has_final_report ? NumberOrNull(r.run.final_report.roc_auc()) : json();
  j["seconds_per_epoch"] = NumberOrNull(experiments::MeanEpochSeconds(info));
  json reached = json::array();
  for (const auto& t : info.time_to_accuracy()) {
    reached.push_back({{"threshold", t.threshold()}, {"seconds", t.seconds()}});
  }
  j["time_to_accuracy"] = std::move(reached);
  const auto& split = r.run.config.data().split();
  j["kfold"] = split.has_patient_kfold() ? json{{"fold", split.patient_kfold().fold()},
                                                {"folds", split.patient_kfold().folds()}}
                                         : json();
  return j;
}

// The files of a run directory, relative to it, sorted: pictures (PNG), other files, and the
// later evaluations (evaluations/<time>/) apart. Temporary files of atomic writes are left out.
struct RunFiles {
  std::vector<std::pair<std::string, std::int64_t>> pictures, files;
  std::map<std::string, std::vector<std::pair<std::string, std::int64_t>>> evaluations;
};

RunFiles ListRunFiles(const std::string& dir) {
  RunFiles out;
  std::error_code ec;
  int seen = 0;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it.depth() > 4) {
      it.disable_recursion_pending();
      continue;
    }
    if (++seen > 5 * kMaxListedFiles) break;
    std::error_code fe;
    if (!it->is_regular_file(fe)) continue;
    const std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.' || absl::StrContains(name, ".tmp")) continue;
    const std::string rel = it->path().lexically_relative(dir).generic_string();
    const std::int64_t size = static_cast<std::int64_t>(it->file_size(fe));
    if (absl::StartsWith(rel, "evaluations/")) {
      const std::vector<std::string> parts = absl::StrSplit(rel, absl::MaxSplits('/', 2));
      if (parts.size() == 3) out.evaluations[parts[1]].push_back({parts[2], size});
      continue;
    }
    auto& list = absl::EndsWith(name, ".png") ? out.pictures : out.files;
    if (list.size() < kMaxListedFiles) list.push_back({rel, size});
  }
  std::sort(out.pictures.begin(), out.pictures.end());
  std::sort(out.files.begin(), out.files.end());
  for (auto& [name, files] : out.evaluations) std::sort(files.begin(), files.end());
  return out;
}

// Each file's name (relative to `folder`, itself relative to the root) and URL.
json FileList(const std::string& folder,
              const std::vector<std::pair<std::string, std::int64_t>>& files, bool with_size) {
  json out = json::array();
  for (const auto& [name, size] : files) {
    json f = {{"name", name}, {"url", FilesUrl(folder + name)}};
    if (with_size) f["bytes"] = size;
    out.push_back(std::move(f));
  }
  return out;
}

std::string ReadCapped(const std::string& path) {
  absl::StatusOr<std::string> text = base::ReadFile(path);
  if (!text.ok()) return "";
  if (text->size() > kMaxInlineText) {
    text->resize(kMaxInlineText);
    text->append("\n... (cut)");
  }
  return *text;
}

std::string IsoNow() { return experiments::IsoTime(std::time(nullptr)); }

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
  const std::vector<experiments::KFoldSummary> kfolds = experiments::SummarizeKFolds(runs);
  for (const experiments::KFoldSummary& k : kfolds) {
    const base::TextTable table = experiments::KFoldTable(k);
    kfold.push_back({{"experiment", k.experiment},
                     {"folds", k.folds},
                     {"missing", k.missing},
                     {"header", table.header},
                     {"rows", table.rows}});
  }
  json paired = json::array();
  for (const experiments::PairedKFolds& p : experiments::PairAll(kfolds, runs)) {
    const base::TextTable table = experiments::PairedTable(p);
    paired.push_back({{"a", p.a},
                      {"b", p.b},
                      {"folds", p.folds},
                      {"unpaired", p.unpaired},
                      {"header", table.header},
                      {"rows", table.rows}});
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
