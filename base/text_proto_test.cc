#include "base/text_proto.h"

#include <string>

#include "gmock/gmock.h"
#include "google/protobuf/descriptor.pb.h"
#include "gtest/gtest.h"

namespace malaria::base {
namespace {

using ::testing::HasSubstr;

TEST(TextProtoTest, ParsesAndClearsTheMessage) {
  google::protobuf::FileDescriptorProto file;
  file.set_package("old");
  ASSERT_TRUE(ParseTextProto("name: \"a.proto\"", "x.pbtxt", &file).ok());
  EXPECT_EQ(file.name(), "a.proto");
  EXPECT_FALSE(file.has_package());
}

TEST(TextProtoTest, ErrorsNameSourceLineAndColumnAndPrintNothing) {
  google::protobuf::FileDescriptorProto file;
  testing::internal::CaptureStderr();
  const absl::Status s = ParseTextProto("name: \"a\"\nno_such_field: 1\n", "runs/r/x.pbtxt", &file);
  const std::string printed = testing::internal::GetCapturedStderr();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("runs/r/x.pbtxt:2:"));
  EXPECT_THAT(s.message(), HasSubstr("no_such_field"));
  EXPECT_EQ(printed, "") << "libprotobuf's own error lines leaked";
}

TEST(TextProtoTest, GarbageIsAnErrorNotACrash) {
  google::protobuf::FileDescriptorProto file;
  const std::string garbage("\x89PNG\r\n\x1a\n\0\0\0{{{", 14);
  const absl::Status s = ParseTextProto(garbage, "g.pbtxt", &file);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("g.pbtxt"));
}

}  // namespace
}  // namespace malaria::base
