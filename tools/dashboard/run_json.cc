#include "tools/dashboard/run_json.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "base/files.h"
#include "experiments/store/kfold.h"
#include "experiments/store/tracker.h"
#include "tools/compare.h"

namespace malaria::tools {

namespace fs = std::filesystem;
using experiments::RunInfo;
using json = nlohmann::json;

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
      // An unreadable config shows nothing rather than the proto's defaults.
      {"model", r.has_config ? r.run.config.model().architecture() : ""},
      {"description", r.has_config ? r.run.config.description() : ""},
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
    reached.push_back({{"threshold", t.threshold()},
                       {"seconds", t.seconds()},
                       {"tflop", t.has_training_tflop() ? json(t.training_tflop()) : json()}});
  }
  j["time_to_accuracy"] = std::move(reached);
  j["training_tflop"] = info.has_training_tflop() ? json(info.training_tflop()) : json();
  j["forward_gflop"] = info.has_forward_gflop() ? json(info.forward_gflop()) : json();
  const auto& split = r.run.config.data().split();
  j["kfold"] = split.has_patient_kfold() ? json{{"fold", split.patient_kfold().fold()},
                                                {"folds", split.patient_kfold().folds()}}
                                         : json();
  return j;
}

// The files of a run directory, relative to it, sorted: pictures (PNG), other files, and the
// later evaluations (evaluations/<time>/) apart. Temporary files of atomic writes are left out.
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

}  // namespace malaria::tools
