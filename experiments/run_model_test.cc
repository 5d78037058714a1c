#include "experiments/run_model.h"

#include <cstdio>
#include <cstdlib>
#include <string>

#include "base/files.h"
#include "experiments/test_config.h"
#include "gtest/gtest.h"
#include "training/precision.h"

namespace malaria::experiments {
namespace {

ExperimentConfig Config(const std::string& changes = "") {
  return TestConfig(R"pb(name: "m"
                         seed: 9
                         model { architecture: "resnet18" }
                         training {
                           threads: 1
                           stage {
                             name: "s"
                             lr { max: 1e-3 }
                           }
                         })pb",
                    changes);
}

TEST(RunModelTest, TheSameSeedBuildsTheSameModel) {
  std::FILE* out = std::tmpfile();
  const RunModel a = *BuildRunModel(Config(), 2, out);
  const RunModel b = *BuildRunModel(Config(), 2, out);
  const RunModel c = *BuildRunModel(Config("seed: 10"), 2, out);
  EXPECT_TRUE(torch::equal(a.model->body->conv1->weight, b.model->body->conv1->weight));
  EXPECT_FALSE(torch::equal(a.model->body->conv1->weight, c.model->body->conv1->weight));
  EXPECT_EQ(a.weights_note, "none configured: random initialisation");
  EXPECT_TRUE(a.warnings.empty());
  std::fclose(out);
}

TEST(RunModelTest, MissingWeightsAreAWarningCorruptWeightsAnError) {
  std::FILE* out = std::tmpfile();
  const std::string missing = base::JoinPath(std::getenv("TEST_TMPDIR"), "none.pth");
  absl::StatusOr<RunModel> m =
      BuildRunModel(Config("model { pretrained_weights: '" + missing + "' }"), 2, out);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->weights_note, "not found (" + missing + "): random initialisation");
  ASSERT_EQ(m->warnings.size(), 1u);
  EXPECT_NE(m->warnings[0].find("model.pretrained_weights: " + missing + " does not exist"),
            std::string::npos);

  const std::string corrupt = base::JoinPath(std::getenv("TEST_TMPDIR"), "corrupt.pth");
  ASSERT_TRUE(base::WriteFileAtomically(corrupt, "PK\x05\x06 not a zip").ok());
  m = BuildRunModel(Config("model { pretrained_weights: '" + corrupt + "' }"), 2, out);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().message().rfind("model.pretrained_weights: ", 0), 0u) << m.status();
  EXPECT_NE(m.status().message().find(corrupt), std::string::npos) << m.status();
  std::fclose(out);
}

TEST(RunModelTest, SetUpComputeChecksTheTrainingFieldsItUses) {
  absl::StatusOr<Compute> c = SetUpCompute(Config(), nullptr);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->threads, 1);
  EXPECT_TRUE(c->device.is_cpu());
  EXPECT_EQ(c->learner.seed, 9u);
  EXPECT_EQ(c->ingredients.seed, 9u);
  EXPECT_TRUE(c->ingredients.device.is_cpu());
  EXPECT_TRUE(c->learner.channels_last);
  c = SetUpCompute(Config("training { precision: FLOAT16 }"), nullptr);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find("training.precision: FLOAT16 is CUDA mixed precision"),
            std::string::npos);
  c = SetUpCompute(Config("training { precision: BFLOAT16_WHERE_AVAILABLE }"), nullptr);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->precision, training::CpuHasBfloat16Units() ? training::BFLOAT16 : training::FLOAT32);
  c = SetUpCompute(Config("training { channels_last: false }"), nullptr);
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->learner.channels_last);
}

}  // namespace
}  // namespace malaria::experiments
