// Parsing text-format protos without libprotobuf's own error lines on stderr: every error is
// collected with the source name, line and column, and returned in one Status.
//
//   RunInfo info;
//   RETURN_IF_ERROR(base::ParseTextProto(text, "runs/x/run_info.pbtxt", &info));
//   // InvalidArgument: "runs/x/run_info.pbtxt:3:1: Message type ... has no field named ..."
#ifndef MALARIA_BASE_TEXT_PROTO_H_
#define MALARIA_BASE_TEXT_PROTO_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/message.h"

namespace malaria::base {

// TextProtoErrors collects a parser's errors and warnings as "source:line:column: message".
// Collects a text-format parser's errors and warnings, each as "<source>:<line>:<column>:
// <message>"; warnings count as errors, but for the use of a deprecated field (which its reader
// upgrades).
class TextProtoErrors : public google::protobuf::io::ErrorCollector {
 public:
  explicit TextProtoErrors(std::string source) : source_(std::move(source)) {}
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override;
  void AddWarning(int line, google::protobuf::io::ColumnNumber column,
                  const std::string& message) override;
  const std::vector<std::string>& errors() const { return errors_; }

 private:
  std::string source_;
  std::vector<std::string> errors_;
};

// ParseTextProto parses `text` into `message` (cleared first), refusing unknown fields. Returns
// InvalidArgument listing every error (at most the first five, and how many more) with `source`,
// line and column; nothing is printed.
absl::Status ParseTextProto(const std::string& text, const std::string& source,
                            google::protobuf::Message* message);

}  // namespace malaria::base

#endif  // MALARIA_BASE_TEXT_PROTO_H_
