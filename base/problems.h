// Collecting every problem of a config at once, each as "<field path>: <problem>", so a user fixes
// them in one pass instead of one per run. Each package's Validate...Config adds the problems of
// its own message under the path it is given.
//
//   ConfigProblems problems;
//   data::ValidateDataConfig(config.data(), problems.In("data"));
//   problems.In("model").Require(depth > 0, "depth", "must be > 0", depth);
//   RETURN_IF_ERROR(problems.ToStatus());
//   // InvalidArgument: "invalid experiment config:\n  data.image_size: must be in [32, 2048], got
//   8"
#ifndef MALARIA_BASE_PROBLEMS_H_
#define MALARIA_BASE_PROBLEMS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace malaria::base {

// A handle on one list of problems: copies (and In()) add to the same list.
class ConfigProblems {
 public:
  ConfigProblems() : lines_(std::make_shared<std::vector<std::string>>()) {}

  // In returns a collector that adds to the same list with `field` appended to the path prefix
  // ("data" then "split" gives "data.split.<field>"). `field` may carry an index: "stage[1]".
  ConfigProblems In(absl::string_view field) const {
    ConfigProblems nested = *this;
    nested.prefix_ = Path(field);
    return nested;
  }

  // Add records "<prefix>.<field>: <problem>". An empty `field` names the prefix itself.
  void Add(absl::string_view field, absl::string_view problem) const {
    lines_->push_back(absl::StrCat(Path(field), ": ", problem));
  }

  // AddBelow records a message that starts with its own path below the prefix, as builders'
  // errors do: AddBelow("lr.max: must be > 0") under "training.stage[0]" records
  // "training.stage[0].lr.max: must be > 0".
  void AddBelow(absl::string_view message) const {
    lines_->push_back(prefix_.empty() ? std::string(message) : absl::StrCat(prefix_, ".", message));
  }

  // Require adds "<path>: <rule>, got <got>" unless `ok`.
  template <typename T>
  void Require(bool ok, absl::string_view field, absl::string_view rule, const T& got) const {
    if (!ok) Add(field, absl::StrCat(rule, ", got ", got));
  }

  bool empty() const { return lines_->empty(); }
  const std::vector<std::string>& lines() const { return *lines_; }

  // ToStatus returns OK when nothing was added, else InvalidArgument "<what>:" followed by one
  // problem per line.
  absl::Status ToStatus(absl::string_view what = "invalid experiment config") const;

  // Path returns the full path of `field` under this collector's prefix.
  std::string Path(absl::string_view field) const {
    if (prefix_.empty()) return std::string(field);
    if (field.empty()) return prefix_;
    return absl::StrCat(prefix_, ".", field);
  }

 private:
  std::shared_ptr<std::vector<std::string>> lines_;
  std::string prefix_;
};

}  // namespace malaria::base

#endif  // MALARIA_BASE_PROBLEMS_H_
