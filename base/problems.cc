#include "base/problems.h"

#include "absl/strings/str_join.h"

namespace malaria::base {

absl::Status ConfigProblems::ToStatus(absl::string_view what) const {
  if (lines_->empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(what, ":\n  ", absl::StrJoin(*lines_, "\n  ")));
}

}  // namespace malaria::base
