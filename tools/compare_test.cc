#include "tools/compare.h"

#include "experiments/experiment.pb.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace malaria::tools {
namespace {

experiments::ExperimentConfig Config(const std::string& text) {
  experiments::ExperimentConfig c;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &c));
  return c;
}

TEST(CompareTest, FlattensFieldsWithPathsAndIndices) {
  const auto fields =
      FlattenFields(Config("name: 'a' model { architecture: 'resnet34' } training { stage { name: "
                           "'s1' lr { max: 0.003 } } "
                           "stage { name: 's2' lr { slice { start: 1e-06 stop: 1e-05 } } } }"));
  EXPECT_EQ(fields.at("name"), "\"a\"");
  EXPECT_EQ(fields.at("model.architecture"), "\"resnet34\"");
  EXPECT_EQ(fields.at("training.stage[0].lr.max"), "0.003");
  EXPECT_EQ(fields.at("training.stage[1].lr.slice.start"), "1e-06");
  EXPECT_EQ(fields.count("training.stage[1].lr.max"), 0u);
}

TEST(CompareTest, OnlyDifferingFieldsAreListed) {
  const auto a = FlattenFields(Config("name: 'x' seed: 1 data { image_size: 64 batch_size: 32 }"));
  const auto b = FlattenFields(Config("name: 'x' seed: 2 data { image_size: 64 }"));
  EXPECT_EQ(DifferingFields({a, b}), (std::vector<std::string>{"data.batch_size", "seed"}));
  EXPECT_TRUE(DifferingFields({a, a}).empty());
}

TEST(CompareTest, NoRunsIsNotFound) {
  EXPECT_EQ(CollectRuns({"/no/such/runs"}).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace malaria::tools
