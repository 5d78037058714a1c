// What the dashboard's JSON says about one run, read from the run store without LibTorch: its
// summary (the runs table's row), its metrics and tables, its files and their URLs. The handler
// (tools/dashboard/handler.h) builds its responses from these.
//
//   nlohmann::json row = Summary(*index.Find(id));
//   RunFiles files = ListRunFiles(run_dir);   // pictures, other files, later evaluations
#ifndef MALARIA_TOOLS_DASHBOARD_RUN_JSON_H_
#define MALARIA_TOOLS_DASHBOARD_RUN_JSON_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "base/text_table.h"
#include "experiments/store/run_index.h"
#include "experiments/store/run_info.pb.h"
#include "nlohmann/json.hpp"

namespace malaria::tools {

inline constexpr int kMaxListedFiles = 500;  // files listed per run page section
inline constexpr size_t kMaxInlineText = 256 * 1024;

// NumberOrNull is `v`, or null when it is not finite (JSON has no NaN).
nlohmann::json NumberOrNull(double v);

// Cell is a metrics.csv cell: a number where it parses, else the text.
nlohmann::json Cell(const std::string& s);

// TableJson is a text table as {header, rows}; MetricsJson a metrics.csv likewise, numbers parsed.
nlohmann::json TableJson(const base::TextTable& t);
nlohmann::json MetricsJson(const experiments::CsvTable& t);

// FilesUrl is "/files/" + `relative` (to the root), percent-encoded except for unreserved
// characters and '/' (an experiment named "a b#1" still gives a working link).
std::string FilesUrl(const std::string& relative);

// StaleAfterSeconds: a RUNNING run that has not written for this long probably died on a machine
// this dashboard cannot check: three epochs' worth of its mean time, and at least 10 minutes.
double StaleAfterSeconds(const experiments::RunInfo& info);

// Summary is a run's row of the runs table: identity, status (DIED for a stale RUNNING run),
// progress, final metrics, the config fields the table shows.
nlohmann::json Summary(const experiments::IndexedRun& r);

// The files of a run directory, relative to it, sorted: pictures (PNG), other files, and the
// later evaluations (evaluations/<time>/) apart. Temporary files of atomic writes are left out;
// at most kMaxListedFiles of each kind.
struct RunFiles {
  std::vector<std::pair<std::string, std::int64_t>> pictures, files;
  std::map<std::string, std::vector<std::pair<std::string, std::int64_t>>> evaluations;
};
RunFiles ListRunFiles(const std::string& dir);

// FileList is each file's name (relative to `folder`, itself relative to the root) and URL, with
// its size when `with_size`.
nlohmann::json FileList(const std::string& folder,
                        const std::vector<std::pair<std::string, std::int64_t>>& files,
                        bool with_size);

// ReadCapped returns the file's text, cut after kMaxInlineText bytes ("" when unreadable).
std::string ReadCapped(const std::string& path);

}  // namespace malaria::tools

#endif  // MALARIA_TOOLS_DASHBOARD_RUN_JSON_H_
