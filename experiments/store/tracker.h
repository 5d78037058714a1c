// The experiment tracker: one directory per run under <root>/<experiment>/, never reused, with
// every file written atomically.
//
//   absl::StatusOr<RunDirectory> run = RunDirectory::Create("/team/runs", "resnet34_two_stage");
//   // /team/runs/resnet34_two_stage/20261125-224700 (or ...-224700-2 if that one exists)
//   RETURN_IF_ERROR(run->WriteFile("config.pbtxt", text));
//
// A run directory holds:
//   config.pbtxt            the resolved config: overrides applied, every default written out
//   run_info.pbtxt          RunInfo: status, provenance, data, per-stage summary
//   metrics.csv             one row per epoch (stage, epoch, train_loss, valid_loss, accuracy, ...)
//   confusion_matrix.csv    final confusion matrix (rows actual, columns predicted)
//   metrics.pbtxt           final ClassificationReport
//   predictions.csv         final validation predictions, one row per image
//   split/train.txt, split/valid.txt   the images on each side of the split
//   lr_find_<stage>.csv     learning-rate finder curves
//   checkpoints/<stage>_{last,best}.pt
#ifndef MALARIA_EXPERIMENTS_STORE_TRACKER_H_
#define MALARIA_EXPERIMENTS_STORE_TRACKER_H_

#include <ctime>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "experiments/store/run_info.pb.h"
#include "google/protobuf/message.h"

namespace malaria::experiments {

class RunDirectory {
 public:
  // Create makes a new, empty run directory <root>/<experiment>/<UTC time>[-N] with mkdir, which
  // fails rather than reuse a directory, so concurrent runs (same second, other processes, other
  // machines on a shared folder) each get their own. `now` defaults to the current time.
  static absl::StatusOr<RunDirectory> Create(const std::string& root, const std::string& experiment,
                                             std::time_t now = 0);

  // Open refers to an existing run directory (for tools that read runs).
  static RunDirectory Open(const std::string& path);

  const std::string& path() const { return path_; }
  const std::string& id() const { return id_; }

  // File returns the path of `name` inside the run directory.
  std::string File(const std::string& name) const;

  // WriteFile writes `contents` to `name` (which may include a sub-folder) atomically.
  absl::Status WriteFile(const std::string& name, const std::string& contents) const;

  // WriteProto writes `message` in text format to `name` atomically.
  absl::Status WriteProto(const std::string& name, const google::protobuf::Message& message) const;

 private:
  std::string path_;
  std::string id_;
};

// Provenance of a run, gathered from the environment.
struct Provenance {
  std::string git_commit = "unknown";
  bool git_dirty = false;
  std::string host;
  std::string user;
};

// GatherProvenance returns the git commit and dirty flag of `workspace` (if it is a git checkout)
// and the host and user names.
Provenance GatherProvenance(const std::string& workspace);

// ReadRunInfo reads `run`'s run_info.pbtxt. NotFound when it is missing; FailedPrecondition, naming
// the file, when this version cannot read it (a field it does not know, or a damaged file).
absl::StatusOr<RunInfo> ReadRunInfo(const RunDirectory& run);

// WriteRunInfo writes `info` as `run`'s run_info.pbtxt and, while it is RUNNING, keeps a copy
// marked INTERRUPTED ready for a second Ctrl-C (base::SetEmergencyRecord), so a run stopped
// at once is still recorded as interrupted and resumable. Every writer of run_info goes through
// it.
absl::Status WriteRunInfo(const RunDirectory& run, const RunInfo& info);

// HostName returns this machine's name ("" when it cannot be read).
std::string HostName();

// ProcessAlive reports whether process `pid` exists on this machine.
bool ProcessAlive(int64_t pid);

// IsoTime returns `t` as UTC "YYYY-MM-DDTHH:MM:SSZ".
std::string IsoTime(std::time_t t);

}  // namespace malaria::experiments

#endif  // MALARIA_EXPERIMENTS_STORE_TRACKER_H_
