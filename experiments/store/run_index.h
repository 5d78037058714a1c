// The runs under a tracker root as the dashboard lists them, read leniently and cached by file
// modification time, so a root shared by a team (runs started by others, runs still being
// written, runs left half-written by a crash) is listed afresh on every request at the cost of a
// few stat calls per run.
//
//   RunIndex index("/team/runs");
//   for (const std::shared_ptr<const IndexedRun>& r : index.Scan()) {
//     r->id;            // "resnet34_two_stage/20261125-225154", relative to the root
//     r->status;        // "COMPLETED", "RUNNING", "DIED" (RUNNING, but its process is gone), ...
//     r->problems;      // what could not be read, and why (the rest is still shown)
//   }
//
// Unlike experiments::LoadRun (which refuses an incomplete run, as evaluate and classify must),
// this keeps whatever part of a run is readable: a garbage run_info.pbtxt leaves the run listed as
// UNREADABLE with the reason; a truncated last line of metrics.csv (a run writing it) is dropped
// with a note. Nothing under the root is ever written.
#ifndef MALARIA_EXPERIMENTS_STORE_RUN_INDEX_H_
#define MALARIA_EXPERIMENTS_STORE_RUN_INDEX_H_

#include <ctime>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "experiments/store/run_reader.h"

namespace malaria::experiments {

// metrics.csv as written: the header, and per row its cells (numbers where they parse).
struct CsvTable {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;  // every row has columns.size() cells
};

// ParseMetricsCsv splits `text` into the header and rows. A row with a different number of cells
// (a line cut short while the file was written, or damage) is left out and named in `problems`.
CsvTable ParseMetricsCsv(const std::string& text, std::vector<std::string>* problems);

struct IndexedRun {
  std::string id;   // the run directory relative to the root, with '/'
  std::string dir;  // absolute
  // What could be read (info and config are default messages where they could not be).
  experiments::LoadedRun run;
  bool has_info = false;
  bool has_config = false;
  CsvTable metrics;
  std::string config_text;  // config.pbtxt as written
  std::vector<std::string> problems;

  // Derived when the run is read (status and progress are refreshed on every Scan).
  std::string status;  // RunInfo's status name, "DIED" or "UNREADABLE"
  std::string reason;  // the recorded reason, or why DIED / UNREADABLE
  int epochs_done = 0;
  int epochs_total = 0;
  std::string current_stage;
  double seconds_since_update = 0;  // now - the newest of run_info.pbtxt and metrics.csv
  std::string search_text;          // lower-case id, description, user, host and config text
  std::time_t newest_mtime = 0;
};

// SearchMatches reports whether every whitespace-separated term of `query` (case-insensitive)
// occurs in the run's search text; an empty query matches everything.
bool SearchMatches(const IndexedRun& run, const std::string& query);

class RunIndex {
 public:
  // `root` is the tracker root (absolute); `this_host` defaults to gethostname().
  explicit RunIndex(std::string root, std::string this_host = "");

  // Scan lists every run under the root, sorted by id, re-reading only runs whose records changed
  // (modification time or size of run_info.pbtxt, config.pbtxt, metrics.csv, metrics.pbtxt) and
  // dropping runs that went. Thread-safe; concurrent callers share one scan.
  std::vector<std::shared_ptr<const IndexedRun>> Scan();

  // Find returns the run with this id as of the latest Scan (none before the first), or nullptr.
  std::shared_ptr<const IndexedRun> Find(const std::string& id);

  const std::string& root() const { return root_; }
  const std::string& host() const { return host_; }

  // How many runs the last Scan read from disk (the others came from the cache).
  int last_reads() const { return last_reads_; }

 private:
  struct Cached {
    std::string signature;
    std::shared_ptr<const IndexedRun> run;
  };
  std::string root_;
  std::string host_;
  std::mutex mu_;
  std::map<std::string, Cached> cache_;  // by id
  int last_reads_ = 0;
};

}  // namespace malaria::experiments

#endif  // MALARIA_EXPERIMENTS_STORE_RUN_INDEX_H_
