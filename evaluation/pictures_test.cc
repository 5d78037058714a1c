#include "evaluation/pictures.h"

#include "evaluation/metrics.h"
#include "gtest/gtest.h"
#include "opencv2/core.hpp"
#include "opencv2/imgproc.hpp"

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
  // Title, then two rows of tile + two caption lines.
  EXPECT_EQ(img.rows, 36 + 2 * (100 + 2 * 17 + 8 + 12) + 12);
  // The first tile's centre is the tile's colour.
  EXPECT_EQ(img.at<cv::Vec3b>(36 + 12 + 50, 12 + 50), cv::Vec3b(255, 0, 0));
}

// A hot cell in a 2x2 grid lands on its corner of the image in magma's top colour (252, 253, 191)
// at 60 %, the cold cells in its bottom colour (0, 0, 4).
TEST(PicturesTest, HeatmapOverlayIsFastaisMagmaAtSixtyPercent) {
  const cv::Mat gray(40, 40, CV_8UC3, cv::Scalar(100, 100, 100));
  cv::Mat heat = cv::Mat::zeros(2, 2, CV_32F);
  heat.at<float>(1, 1) = 3.0f;
  const cv::Mat out = HeatmapOverlay(gray, heat);
  ASSERT_EQ(out.size(), gray.size());
  ASSERT_EQ(out.type(), CV_8UC3);
  const cv::Vec3b hot = out.at<cv::Vec3b>(39, 39), cold = out.at<cv::Vec3b>(0, 0);
  EXPECT_NEAR(hot[0], 0.4 * 100 + 0.6 * 252, 2);
  EXPECT_NEAR(hot[1], 0.4 * 100 + 0.6 * 253, 2);
  EXPECT_NEAR(hot[2], 0.4 * 100 + 0.6 * 191, 2);
  EXPECT_NEAR(cold[0], 40, 2);
  EXPECT_NEAR(cold[2], 0.4 * 100 + 0.6 * 4, 2);
  // Bilinear: the middle of the image is between the two.
  const cv::Vec3b middle = out.at<cv::Vec3b>(20, 20);
  EXPECT_GT(middle[0], cold[0]);
  EXPECT_LT(middle[0], hot[0]);
  // A constant map is all the bottom colour.
  const cv::Mat flat = HeatmapOverlay(gray, cv::Mat(2, 2, CV_32F, cv::Scalar(1.0f)));
  EXPECT_EQ(flat.at<cv::Vec3b>(39, 39), flat.at<cv::Vec3b>(0, 0));
  EXPECT_NEAR(flat.at<cv::Vec3b>(39, 39)[0], 40, 2);
}

TEST(PicturesTest, FitTextShrinksThenCutsToTheWidth) {
  const FittedText short_text = FitText("P61", 100, 0.45, 0.33);
  EXPECT_EQ(short_text.text, "P61");
  EXPECT_DOUBLE_EQ(short_text.scale, 0.45);
  const std::string name = "C100P61ThinF_IMG_20150918_144104_cell_162_very_long_name.png";
  const FittedText fitted = FitText(name, 120, 0.45, 0.33);
  EXPECT_GE(fitted.scale, 0.33);
  EXPECT_LE(fitted.scale, 0.45);
  int baseline;
  EXPECT_LE(
      cv::getTextSize(fitted.text, cv::FONT_HERSHEY_SIMPLEX, fitted.scale, 1, &baseline).width,
      120);
  EXPECT_EQ(fitted.text.substr(fitted.text.size() - 3), "...");
  EXPECT_EQ(name.rfind(fitted.text.substr(0, fitted.text.size() - 3), 0), 0u);  // a prefix
}

// Long captions stay under their own tile: the gutters between tiles stay white.
TEST(PicturesTest, ContactSheetCaptionsNeverReachTheNeighbouringTile) {
  ContactSheetOptions o;
  o.title = "Suspect labels";
  o.columns = 4;
  o.tile = 120;
  std::vector<cv::Mat> tiles(8, cv::Mat(50, 50, CV_8UC3, cv::Scalar(90, 90, 90)));
  tiles[3] = cv::Mat();
  std::vector<std::vector<std::string>> captions(
      8, {"C100P61ThinF_IMG_20150918_144104_cell_162.png", "patient P61", "given Uninfected",
          "model: Parasitized 1.00 (threshold 0.97)"});
  const cv::Mat img = ContactSheetImage(tiles, captions, o);
  EXPECT_EQ(img.cols, 4 * (120 + 12) + 12);
  for (int gutter = 1; gutter < 4; ++gutter) {
    const int x0 = 12 + gutter * (120 + 12) - 12;  // the 12 px between tile gutter-1 and gutter
    for (int y = 36; y < img.rows; ++y) {
      for (int x = x0; x < x0 + 12; ++x) {
        ASSERT_EQ(img.at<cv::Vec3b>(y, x), cv::Vec3b(255, 255, 255)) << "at " << x << "," << y;
      }
    }
  }
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
