#include "base/text_proto.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/text_format.h"

namespace malaria::base {

void TextProtoErrors::AddError(int line, google::protobuf::io::ColumnNumber column,
                               const std::string& message) {
  errors_.push_back(absl::StrCat(source_, ":", line + 1, ":", column + 1, ": ", message));
}

void TextProtoErrors::AddWarning(int line, google::protobuf::io::ColumnNumber column,
                                 const std::string& message) {
  // Deprecated fields are read on purpose: their readers move them to their new homes
  // (training::UpgradeTrainingConfig). Any other warning is an error.
  if (absl::StartsWith(message, "text format contains deprecated field")) return;
  AddError(line, column, message);
}

absl::Status ParseTextProto(const std::string& text, const std::string& source,
                            google::protobuf::Message* message) {
  TextProtoErrors errors(source);
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  parser.AllowUnknownField(false);
  if (parser.ParseFromString(text, message) && errors.errors().empty()) {
    return absl::OkStatus();
  }
  constexpr size_t kShown = 5;
  std::vector<std::string> shown = errors.errors();
  if (shown.empty()) shown.push_back(absl::StrCat(source, ": not a valid text proto"));
  const size_t more = shown.size() > kShown ? shown.size() - kShown : 0;
  shown.resize(std::min(shown.size(), kShown));
  if (more > 0) shown.push_back(absl::StrCat("(and ", more, " more)"));
  return absl::InvalidArgumentError(absl::StrJoin(shown, "\n"));
}

}  // namespace malaria::base
