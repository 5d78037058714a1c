#include "evaluation/report_writer.h"

#include <cstdlib>
#include <filesystem>

#include "base/files.h"
#include "data/image_io.h"
#include "gtest/gtest.h"
#include "opencv2/core.hpp"

namespace malaria::evaluation {
namespace {

TEST(ReportWriterTest, WritesEveryFileOfAnEvaluation) {
  const std::string folder = base::JoinPath(std::getenv("TEST_TMPDIR"), "report");
  std::filesystem::remove_all(folder);
  PredictionSet p;
  p.num_classes = 2;
  p.probabilities = {0.9f, 0.1f, 0.3f, 0.7f, 0.2f, 0.8f};
  p.labels = {0, 0, 1};
  p.losses = {0.1f, 1.2f, 0.2f};
  p.paths = {"Parasitized/C1P1_a.png", "Parasitized/C1P1_b.png", "Uninfected/C2_c.png"};
  p.groups = {"P1", "P1", "C2"};
  int asked = 0;
  const absl::StatusOr<ClassificationReport> r =
      WriteReport(folder, p, {"Parasitized", "Uninfected"}, 0, EvaluationConfig(), [&](int i) {
        ++asked;
        return absl::StatusOr<cv::Mat>(cv::Mat(8, 8, CV_8UC3, cv::Scalar(i * 80, 0, 0)));
      });
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(asked, 3);  // top 9 losses of 3 images
  for (const char* f : {"metrics.pbtxt", "confusion_matrix.csv", "confusion_matrix.png", "roc.png",
                        "top_losses.png", "most_confused.txt", "patients.csv", "predictions.csv"}) {
    EXPECT_TRUE(base::PathExists(base::JoinPath(folder, f))) << f;
  }
  const std::string metrics = *base::ReadFile(base::JoinPath(folder, "metrics.pbtxt"));
  EXPECT_NE(metrics.find("false_negatives: 1"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("patients {"), std::string::npos);
  EXPECT_EQ(*base::ReadFile(base::JoinPath(folder, "most_confused.txt")),
            "Parasitized -> Uninfected: 1\n");
  const absl::StatusOr<cv::Mat> top =
      data::DecodeImageFile(base::JoinPath(folder, "top_losses.png"));
  ASSERT_TRUE(top.ok());
  EXPECT_GT(top->cols, 300);
}

TEST(ReportWriterTest, UnwritableFolderIsAnErrorNamingIt) {
  PredictionSet p;
  p.num_classes = 2;
  const absl::StatusOr<ClassificationReport> r =
      WriteReport("/proc/no/report", p, {"A", "B"}, 0, EvaluationConfig(), nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("/proc/no/report"), std::string::npos) << r.status();
}

}  // namespace
}  // namespace malaria::evaluation
