// What the team dashboard answers, independent of the HTTP server: the JSON of the runs list, a
// run's page and a comparison, the embedded page and scripts, and files of the tracker root (only
// inside it). tools/dashboard_server.h puts it behind cpp-httplib; tests call it directly.
//
//   DashboardHandler h("/team/runs");
//   DashboardResponse r = h.Handle("/api/runs", {{"q", "resnet34"}});
//   r.status == 200; r.content_type == "application/json"; r.body == "{\"runs\":[...]}"
//   r = h.Handle("/files/resnet34_two_stage/20261125-225154/roc.png", {});
//   r.file == "/team/runs/resnet34_two_stage/20261125-225154/roc.png"   // streamed by the server
//
// The URL paths and JSON fields are documented in docs/dashboard.md. Read-only: nothing under the
// root is written. Paths that leave the root (`..`, symlinks out of it, absolute paths), NUL bytes
// and over-long paths are refused with 400 or 404.
#ifndef MALARIA_TOOLS_DASHBOARD_HANDLER_H_
#define MALARIA_TOOLS_DASHBOARD_HANDLER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "experiments/store/run_index.h"

namespace malaria::tools {

struct DashboardResponse {
  int status = 200;
  std::string content_type;
  std::string body;
  std::string file;  // when set, the body is this file's contents (streamed), and body is empty
  std::int64_t file_size = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // besides Content-Type
};

// The longest URL path accepted (longer: 414).
constexpr size_t kMaxUrlPath = 4096;

class DashboardHandler {
 public:
  explicit DashboardHandler(std::string root);

  // Handle answers a GET of `path` (percent-decoded, as the server received it) with the query
  // parameters `params`.
  DashboardResponse Handle(const std::string& path,
                           const std::multimap<std::string, std::string>& params);

  // The JSON bodies, for tests and the benchmark. RunsJson keeps each run's summary, serialised,
  // for as long as the index keeps the run's record (a finished run whose files did not change):
  // only new, changed and RUNNING runs are summarised again.
  std::string RunsJson(const std::string& query);
  DashboardResponse RunJson(const std::string& id);
  std::string CompareJson(const std::vector<std::string>& ids);

  // ResolveFile maps a path relative to the root to a regular file inside the root (symlinks
  // resolved). 400 for a NUL byte, an absolute path, or a '.', '..' or empty component; 404 when
  // nothing is there, it is not a regular file, or it resolves outside the root.
  DashboardResponse ResolveFile(const std::string& relative);

  const std::string& root() const { return index_.root(); }
  experiments::RunIndex& index() { return index_; }

 private:
  // A run's summary as JSON text and the accuracy thresholds it reached.
  struct CachedSummary {
    std::shared_ptr<const experiments::IndexedRun> run;  // keeps the key's record alive
    std::string json;
    std::vector<double> thresholds;
  };

  experiments::RunIndex index_;
  std::string real_root_;
  std::mutex summaries_mu_;
  std::map<const experiments::IndexedRun*, CachedSummary> summaries_;  // guarded by summaries_mu_
};

}  // namespace malaria::tools

#endif  // MALARIA_TOOLS_DASHBOARD_HANDLER_H_
