#include "data/transforms.h"

#include <cmath>
#include <set>
#include <vector>

#include "gtest/gtest.h"
#include "opencv2/core.hpp"
#include "opencv2/imgproc.hpp"

namespace malaria::data {
namespace {

cv::Mat RandomImage(int rows, int cols, int seed) {
  cv::Mat m(rows, cols, CV_8UC3);
  cv::theRNG().state = seed;
  cv::randu(m, 0, 256);
  return m;
}

// Width of the run of bright pixels (red > 127) along the middle row.
int BrightWidth(const cv::Mat& rgb) {
  int n = 0;
  for (int x = 0; x < rgb.cols; ++x) n += rgb.at<cv::Vec3b>(rgb.rows / 2, x)[0] > 127;
  return n;
}

TEST(TransformsTest, IdentityParametersReturnTheImage) {
  const cv::Mat image = RandomImage(32, 32, 1);
  const cv::Mat out = Augment(image, 32, AugmentParams());
  EXPECT_EQ(cv::norm(image, out, cv::NORM_INF), 0);
}

TEST(TransformsTest, RotationByZeroIsTheIdentity) {
  const cv::Mat image = RandomImage(24, 24, 2);
  AugmentParams p;
  p.rotate_degrees = 0;
  EXPECT_EQ(cv::norm(image, Augment(image, 24, p), cv::NORM_INF), 0);
}

TEST(TransformsTest, HorizontalFlipIsTheMirroredArray) {
  const cv::Mat image = RandomImage(20, 20, 3);
  AugmentParams p;
  p.dihedral = 1;
  cv::Mat mirrored;
  cv::flip(image, mirrored, /*flipCode=*/1);
  EXPECT_EQ(cv::norm(mirrored, Augment(image, 20, p), cv::NORM_INF), 0);
}

TEST(TransformsTest, DihedralTransposeIsTheTransposedArray) {
  const cv::Mat image = RandomImage(16, 16, 4);
  AugmentParams p;
  p.dihedral = 4;
  cv::Mat transposed;
  cv::transpose(image, transposed);
  EXPECT_EQ(cv::norm(transposed, Augment(image, 16, p), cv::NORM_INF), 0);
}

TEST(TransformsTest, CentreStaysAtCentreUnderRotationAndCentredZoom) {
  cv::Mat image(41, 41, CV_8UC3, cv::Scalar::all(0));
  image.at<cv::Vec3b>(20, 20) = cv::Vec3b(255, 255, 255);
  AugmentParams p;
  p.rotate_degrees = 9;
  p.zoom = 1.08;
  const cv::Mat out = Augment(image, 41, p);
  cv::Point max_at;
  cv::Mat channel;
  cv::extractChannel(out, channel, 0);
  cv::minMaxLoc(channel, nullptr, nullptr, nullptr, &max_at);
  EXPECT_EQ(max_at, cv::Point(20, 20));
}

TEST(TransformsTest, ZoomGrowsASquareByTheFactor) {
  cv::Mat image(100, 100, CV_8UC3, cv::Scalar::all(0));
  cv::rectangle(image, cv::Rect(40, 40, 20, 20), cv::Scalar::all(255), cv::FILLED);
  ASSERT_EQ(BrightWidth(image), 20);
  AugmentParams p;
  p.zoom = 1.1;
  EXPECT_NEAR(BrightWidth(Augment(image, 100, p)), 22, 1);
  p.zoom = 1.5;
  EXPECT_NEAR(BrightWidth(Augment(image, 100, p)), 30, 1);
}

TEST(TransformsTest, ResizesToTheOutputSizeFromTheCentralSquare) {
  // 40 x 80 source: the central 40 x 40 square, scaled to 20 x 20.
  cv::Mat image(40, 80, CV_8UC3, cv::Scalar::all(0));
  cv::rectangle(image, cv::Rect(20, 0, 40, 40), cv::Scalar::all(200), cv::FILLED);
  const cv::Mat out = Augment(image, 20, AugmentParams());
  EXPECT_EQ(out.size(), cv::Size(20, 20));
  EXPECT_EQ(out.at<cv::Vec3b>(10, 10), cv::Vec3b(200, 200, 200));
  EXPECT_EQ(out.at<cv::Vec3b>(0, 0), cv::Vec3b(200, 200, 200));
  const cv::Mat centre = CenterCrop(image, 40);
  EXPECT_EQ(centre.size(), cv::Size(40, 40));
  EXPECT_EQ(cv::countNonZero(centre.reshape(1) == 200), 40 * 40 * 3);
}

TEST(TransformsTest, WarpKeepsTheCentreAndMovesCorners) {
  const cv::Mat image = RandomImage(33, 33, 5);
  AugmentParams p;
  p.warp = true;
  p.warp_magnitude = {0.2, -0.2, 0.1, -0.1};
  const cv::Matx33d m = GeometryMatrix(image.size(), 33, p);
  const cv::Vec3d corner = m * cv::Vec3d(0, 0, 1);
  EXPECT_GT(std::abs(corner[0] / corner[2]) + std::abs(corner[1] / corner[2]), 0.5);
  p.warp_magnitude = {0, 0, 0, 0};
  EXPECT_EQ(cv::norm(image, Augment(image, 33, p), cv::NORM_INF), 0);
}

TEST(TransformsTest, LightingTableIsFastaiLogitArithmetic) {
  const auto identity = LightingTable(0.5, 1.0);
  for (int v = 0; v < 256; ++v) EXPECT_EQ(identity[v], v);
  const auto brighter = LightingTable(0.6, 1.0);
  // sigmoid(logit(128/255) + logit(0.6)) * 255
  const double x = std::log(128.0 / 127.0) + std::log(0.6 / 0.4);
  EXPECT_EQ(brighter[128], std::lround(255 / (1 + std::exp(-x))));
  const auto contrast = LightingTable(0.5, 1.25);
  EXPECT_LT(contrast[64], 64);
  EXPECT_GT(contrast[192], 192);
}

TEST(TransformsTest, SampledParametersStayInFastaiRanges) {
  AugmentationConfig config;  // fastai defaults
  Rng rng(11);
  int flips = 0, rotated = 0;
  for (int i = 0; i < 2000; ++i) {
    const AugmentParams p = SampleAugment(config, rng);
    EXPECT_TRUE(p.dihedral == 0 || p.dihedral == 1);
    flips += p.dihedral;
    EXPECT_LE(std::abs(p.rotate_degrees), 10.0);
    rotated += p.rotate_degrees != 0;
    EXPECT_GE(p.zoom, 1.0);
    EXPECT_LE(p.zoom, 1.1);
    for (double m : p.warp_magnitude) EXPECT_LE(std::abs(m), 0.2);
    EXPECT_GE(p.brightness, 0.4);
    EXPECT_LE(p.brightness, 0.6);
    EXPECT_GE(p.contrast, 0.8 - 1e-9);
    EXPECT_LE(p.contrast, 1.25 + 1e-9);
  }
  EXPECT_NEAR(flips / 2000.0, 0.5, 0.05);
  EXPECT_NEAR(rotated / 2000.0, 0.75, 0.05);

  config.set_enabled(false);
  const AugmentParams none = SampleAugment(config, rng);
  EXPECT_EQ(none.dihedral, 0);
  EXPECT_EQ(none.crop_row, 0.5);
  EXPECT_EQ(none.zoom, 1.0);
}

TEST(TransformsTest, NormalisesToChannelPlanes) {
  cv::Mat rgb(1, 2, CV_8UC3);
  rgb.at<cv::Vec3b>(0, 0) = cv::Vec3b(255, 0, 51);
  rgb.at<cv::Vec3b>(0, 1) = cv::Vec3b(0, 255, 102);
  float out[6];
  ToNormalizedChw(rgb, {0.5f, 0.5f, 0.0f}, {0.5f, 0.25f, 1.0f}, out);
  EXPECT_FLOAT_EQ(out[0], 1.0f);   // R, pixel 0
  EXPECT_FLOAT_EQ(out[1], -1.0f);  // R, pixel 1
  EXPECT_FLOAT_EQ(out[2], -2.0f);  // G, pixel 0
  EXPECT_FLOAT_EQ(out[3], 2.0f);   // G, pixel 1
  EXPECT_FLOAT_EQ(out[4], 0.2f);   // B, pixel 0
  EXPECT_FLOAT_EQ(out[5], 0.4f);   // B, pixel 1
}

TEST(TransformsTest, AlternatingFlipsShowEveryImageEachWayOncePerCycle) {
  AugmentationConfig flips;
  AugmentationConfig dihedral;
  dihedral.set_flip_vert(true);
  std::set<std::vector<int>> orders;
  for (uint64_t index = 0; index < 40; ++index) {
    // Each 2 consecutive passes show both flips, from any starting pass; the order repeats.
    for (uint64_t start = 0; start < 4; ++start) {
      EXPECT_EQ(AlternatingDihedral(flips, 7, index, start) +
                    AlternatingDihedral(flips, 7, index, start + 1),
                1);
      EXPECT_EQ(AlternatingDihedral(flips, 7, index, start),
                AlternatingDihedral(flips, 7, index, start + 2));
    }
    std::vector<int> order;
    for (uint64_t pass = 0; pass < 8; ++pass) {
      order.push_back(AlternatingDihedral(dihedral, 7, index, pass));
      EXPECT_EQ(order.back(), AlternatingDihedral(dihedral, 7, index, pass + 8));
    }
    EXPECT_EQ(std::set<int>(order.begin(), order.end()).size(), 8u) << "index " << index;
    orders.insert(order);
  }
  // Each image draws its own order (40 draws of 8! orders: all but surely distinct).
  EXPECT_GT(orders.size(), 35u);
  AugmentationConfig none;
  none.set_do_flip(false);
  EXPECT_EQ(AlternatingDihedral(none, 7, 3, 1), 0);
}

}  // namespace
}  // namespace malaria::data
