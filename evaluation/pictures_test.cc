#include "evaluation/pictures.h"

#include "evaluation/metrics.h"
#include "gtest/gtest.h"
#include "opencv2/core.hpp"

namespace malaria::evaluation {
namespace {

TEST(PicturesTest, ConfusionMatrixShadesTheLargerCellsDarker) {
  // Rows actual: Parasitized 90 right / 10 missed; Uninfected 20 false alarms / 80 right.
  ClassificationReport r;
  r.add_classes("Parasitized");
  r.add_classes("Uninfected");
  r.set_accuracy(0.85);
  for (int n : {90, 10, 20, 80}) r.add_confusion(n);
  const cv::Mat img = ConfusionMatrixImage(r);
  ASSERT_EQ(img.type(), CV_8UC3);
  // Sample near each cell's corner (away from the printed count).
  auto shade = [&](int row, int col) {
    const cv::Vec3b v = img.at<cv::Vec3b>(90 + row * 120 + 8, 150 + col * 120 + 8);
    return v[0] + v[1] + v[2];
  };
  EXPECT_LT(shade(0, 0), shade(0, 1));
  EXPECT_LT(shade(1, 1), shade(1, 0));
  EXPECT_LT(shade(0, 0), shade(1, 1));  // 90 % of its row is darker than 80 %
}

TEST(PicturesTest, TopLossesLaysOutThreeColumns) {
  std::vector<cv::Mat> tiles(5, cv::Mat(10, 10, CV_8UC3, cv::Scalar(255, 0, 0)));
  std::vector<std::vector<std::string>> titles(5, {"a/b", "1.00 / 0.10"});
  const cv::Mat img = TopLossesImage(tiles, titles, 100);
  EXPECT_EQ(img.cols, 3 * (100 + 12) + 12);
  EXPECT_EQ(img.rows, 2 * (100 + 40 + 12) + 12 + 30);
  // The first tile's centre is the tile's colour.
  EXPECT_EQ(img.at<cv::Vec3b>(30 + 12 + 40 + 50, 12 + 50), cv::Vec3b(255, 0, 0));
}

TEST(PicturesTest, RocAndLearningCurvesHaveTheirSizes) {
  EXPECT_EQ(RocImage({0, 0.5, 1}, {0, 0.9, 1}, 0.95).size(), cv::Size(560, 520));
  std::vector<CurvePoint> points = {
      {"s1", 1, 1.0, 0.9, 0.6}, {"s1", 2, 0.8, 0.7, 0.7}, {"s2", 1, 0.6, 0.5, 0.8}};
  const cv::Mat curves = LearningCurvesImage(points, "run");
  EXPECT_EQ(curves.size(), cv::Size(800, 760));
}

}  // namespace
}  // namespace malaria::evaluation
