#include "experiments/test_config.h"

#include "experiments/config.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace malaria::experiments {

ExperimentConfig TestConfig(const std::string& text, const std::string& changes) {
  absl::StatusOr<ExperimentConfig> c = ParseExperimentConfig(text, "test config");
  EXPECT_TRUE(c.ok()) << c.status();
  if (!c.ok()) return ExperimentConfig();
  EXPECT_TRUE(google::protobuf::TextFormat::MergeFromString(changes, &*c)) << changes;
  FillDefaults(&*c);
  return *c;
}

}  // namespace malaria::experiments
