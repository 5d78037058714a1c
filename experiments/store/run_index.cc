#include "experiments/store/run_index.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/files.h"
#include "base/text_proto.h"
#include "experiments/config.h"
#include "experiments/store/tracker.h"

namespace malaria::experiments {
namespace {

namespace fs = std::filesystem;
using experiments::RunInfo;

constexpr const char* kRecords[] = {"run_info.pbtxt", "config.pbtxt", "metrics.csv",
                                    "metrics.pbtxt"};

// "mtime.nsec:size" of each record ("-" when absent): a run is read again when this changes.
std::string Signature(const std::string& dir, std::time_t* newest) {
  std::string sig;
  for (const char* name : kRecords) {
    struct stat st;
    if (::stat((dir + "/" + name).c_str(), &st) != 0) {
      sig += "-|";
      continue;
    }
    absl::StrAppend(&sig, st.st_mtim.tv_sec, ".", st.st_mtim.tv_nsec, ":", st.st_size, "|");
    if (newest != nullptr && (name == kRecords[0] || name == kRecords[2])) {
      *newest = std::max(*newest, st.st_mtim.tv_sec);
    }
  }
  return sig;
}

std::string ThisHost() {
  char name[256] = {0};
  if (::gethostname(name, sizeof(name) - 1) != 0) return "";
  return name;
}

// Status, reason and progress: what changes while a run is RUNNING even when its files do not
// (its process may end; time passes).
void RefreshLiveFields(const std::string& this_host, std::time_t now, IndexedRun* r) {
  r->seconds_since_update = r->newest_mtime > 0 ? std::difftime(now, r->newest_mtime) : 0;
  if (!r->has_info) {
    r->status = "UNREADABLE";
    return;
  }
  const RunInfo& info = r->run.info;
  r->status = RunInfo::Status_Name(info.status());
  r->reason = info.reason();
  if (info.status() == RunInfo::RUNNING && info.pid() > 0 && !info.host().empty() &&
      info.host() == this_host) {
    if (::kill(static_cast<pid_t>(info.pid()), 0) != 0 && errno == ESRCH) {
      r->status = "DIED";
      r->reason =
          absl::StrCat("recorded as RUNNING, but its process ", info.pid(), " on ", info.host(),
                       " is gone (killed, or the machine restarted); --resume continues it");
    }
  }
}

}  // namespace

CsvTable ParseMetricsCsv(const std::string& text, std::vector<std::string>* problems) {
  CsvTable t;
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  bool header = true;
  for (size_t i = 0; i < lines.size(); ++i) {
    absl::string_view line = lines[i];
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    std::vector<std::string> cells = absl::StrSplit(line, ',');
    if (header) {
      t.columns = std::move(cells);
      header = false;
      continue;
    }
    if (cells.size() != t.columns.size()) {
      problems->push_back(absl::StrCat("metrics.csv line ", i + 1, " has ", cells.size(), " of ",
                                       t.columns.size(),
                                       " fields (cut short while being written, or damaged); "
                                       "left out"));
      continue;
    }
    t.rows.push_back(std::move(cells));
  }
  return t;
}

bool SearchMatches(const IndexedRun& run, const std::string& query) {
  for (absl::string_view term : absl::StrSplit(query, ' ', absl::SkipWhitespace())) {
    if (!absl::StrContains(run.search_text, absl::AsciiStrToLower(term))) return false;
  }
  return true;
}

namespace {

// Reads the run directory `dir` (id relative to the root) leniently; never fails. `newest_mtime`:
// of its run_info.pbtxt and metrics.csv, from the Signature that decided to read it.
IndexedRun ReadIndexedRun(const std::string& dir, const std::string& id,
                          const std::string& this_host, std::time_t newest_mtime) {
  IndexedRun r;
  r.id = id;
  r.dir = dir;
  r.newest_mtime = newest_mtime;
  r.run.dir = experiments::RunDirectory::Open(dir);
  absl::StatusOr<RunInfo> info = experiments::ReadRunInfo(r.run.dir);
  if (info.ok()) {
    r.run.info = *std::move(info);
    r.has_info = true;
  } else {
    r.problems.push_back(std::string(info.status().message()));
    r.reason = r.problems.back();
  }
  const std::string config_path = r.run.dir.File("config.pbtxt");
  if (absl::StatusOr<std::string> text = base::ReadFile(config_path); text.ok()) {
    r.config_text = *std::move(text);
    absl::StatusOr<experiments::ExperimentConfig> config =
        experiments::ParseExperimentConfig(r.config_text, config_path);
    if (config.ok()) {
      r.run.config = *std::move(config);
      r.has_config = true;
    } else {
      r.problems.push_back(absl::StrCat("config.pbtxt: ", config.status().message()));
    }
  } else {
    r.problems.push_back(absl::StrCat("config.pbtxt: ", text.status().message()));
  }
  if (absl::StatusOr<std::string> csv = base::ReadFile(r.run.dir.File("metrics.csv")); csv.ok()) {
    r.metrics = ParseMetricsCsv(*csv, &r.problems);
  }
  const std::string report_path = r.run.dir.File("metrics.pbtxt");
  if (absl::StatusOr<std::string> report = base::ReadFile(report_path); report.ok()) {
    absl::Status parsed = base::ParseTextProto(*report, report_path, &r.run.final_report);
    r.run.has_final_report = parsed.ok();
    if (!parsed.ok()) r.problems.push_back(std::string(parsed.message()));
  }
  for (const auto& stage : r.run.config.training().stage()) r.epochs_total += stage.epochs();
  r.epochs_done = static_cast<int>(r.metrics.rows.size());
  if (!r.metrics.rows.empty() && !r.metrics.columns.empty() && r.metrics.columns[0] == "stage") {
    r.current_stage = r.metrics.rows.back()[0];
  }
  r.search_text =
      absl::AsciiStrToLower(absl::StrCat(id, "\n", r.run.info.user(), "\n", r.run.info.host(), "\n",
                                         r.run.config.description(), "\n", r.config_text));
  RefreshLiveFields(this_host, std::time(nullptr), &r);
  return r;
}

}  // namespace

RunIndex::RunIndex(std::string root, std::string this_host)
    : root_(std::move(root)), host_(this_host.empty() ? ThisHost() : std::move(this_host)) {}

std::vector<std::shared_ptr<const IndexedRun>> RunIndex::Scan() {
  std::lock_guard<std::mutex> lock(mu_);
  const std::time_t now = std::time(nullptr);
  std::map<std::string, Cached> next;
  int reads = 0;
  for (const std::string& dir : experiments::FindRuns(root_)) {
    std::string id = fs::path(dir).lexically_relative(root_).generic_string();
    if (id.empty() || id == ".") id = fs::path(dir).filename().string();
    std::time_t newest = 0;
    const std::string signature = Signature(dir, &newest);
    auto it = cache_.find(id);
    Cached entry;
    if (it != cache_.end() && it->second.signature == signature) {
      entry = std::move(it->second);
      if (entry.run->has_info && entry.run->run.info.status() == RunInfo::RUNNING) {
        auto refreshed = std::make_shared<IndexedRun>(*entry.run);
        RefreshLiveFields(host_, now, refreshed.get());
        entry.run = std::move(refreshed);
      }
    } else {
      entry.signature = signature;
      entry.run = std::make_shared<const IndexedRun>(ReadIndexedRun(dir, id, host_, newest));
      ++reads;
    }
    next.emplace(std::move(id), std::move(entry));
  }
  cache_ = std::move(next);
  last_reads_ = reads;
  std::vector<std::shared_ptr<const IndexedRun>> out;
  out.reserve(cache_.size());
  for (const auto& [id, entry] : cache_) out.push_back(entry.run);
  return out;
}

std::shared_ptr<const IndexedRun> RunIndex::Find(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = cache_.find(id);
  return it == cache_.end() ? nullptr : it->second.run;
}

}  // namespace malaria::experiments
