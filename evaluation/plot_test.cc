#include "evaluation/plot.h"

#include <cmath>
#include <limits>

#include "gtest/gtest.h"
#include "opencv2/core.hpp"

namespace malaria::evaluation {
namespace {

// Pixels of exactly `color` inside the plot area.
int CountColour(const cv::Mat& img, const cv::Scalar& color, const cv::Rect& area) {
  int n = 0;
  for (int y = area.y; y < area.y + area.height; ++y) {
    for (int x = area.x; x < area.x + area.width; ++x) {
      const cv::Vec3b v = img.at<cv::Vec3b>(y, x);
      n += v[0] == color[0] && v[1] == color[1] && v[2] == color[2];
    }
  }
  return n;
}

TEST(PlotTest, DrawsSeriesInsideTheArea) {
  PlotOptions o;
  o.title = "test";
  const cv::Mat img = LinePlot({{"a", {0, 1, 2}, {0, 1, 0}}}, o);
  EXPECT_EQ(img.size(), cv::Size(800, 500));
  EXPECT_EQ(img.type(), CV_8UC3);
  EXPECT_GT(CountColour(img, SeriesColor(0), PlotArea(800, 500)), 100);
}

TEST(PlotTest, DiagonalLineRisesFromBottomLeftToTopRight) {
  PlotOptions o;
  o.y_min = 0;
  o.y_max = 1;
  const cv::Mat img = LinePlot({{"", {0, 1}, {0, 1}}}, o);
  const cv::Rect area = PlotArea(800, 500);
  const cv::Scalar c = SeriesColor(0);
  auto has = [&](int x, int y) {
    for (int dy = -3; dy <= 3; ++dy) {
      const cv::Vec3b v = img.at<cv::Vec3b>(y + dy, x);
      if (v[0] == c[0] && v[1] == c[1] && v[2] == c[2]) return true;
    }
    return false;
  };
  EXPECT_TRUE(has(area.x + area.width / 4, area.y + area.height * 3 / 4));
  EXPECT_TRUE(has(area.x + area.width * 3 / 4, area.y + area.height / 4));
  EXPECT_FALSE(has(area.x + area.width / 4, area.y + area.height / 4));
}

// A scatter: markers at the points, none between them, error bars above and below.
TEST(PlotTest, PointsWithErrorBarsAndNoLineBetween) {
  PlotOptions o;
  o.y_min = 0;
  o.y_max = 1;
  Series s{"", {0, 1}, {0.25, 0.75}};
  s.points = true;
  s.y_err = {0.1, std::nan("")};
  s.point_labels = {"a", "b"};
  const cv::Mat img = LinePlot({s}, o);
  const cv::Rect area = PlotArea(800, 500);
  const cv::Scalar c = SeriesColor(0);
  auto is = [&](double x, double y) {  // data coordinates; x padded by 6 % on each side
    const int col = area.x + static_cast<int>(std::lround((x + 0.06) / 1.12 * area.width));
    const int row = area.y + area.height - static_cast<int>(std::lround(y * area.height));
    const cv::Vec3b v = img.at<cv::Vec3b>(row, col);
    return v[0] == c[0] && v[1] == c[1] && v[2] == c[2];
  };
  EXPECT_TRUE(is(0, 0.25));
  EXPECT_TRUE(is(1, 0.75));
  EXPECT_FALSE(is(0.5, 0.5));  // no line between the points
  EXPECT_TRUE(is(0, 0.33));    // the first point's error bar
  EXPECT_FALSE(is(0, 0.40));   // ends at 0.35
  EXPECT_FALSE(is(1, 0.83));   // the second has none
}

TEST(PlotTest, LogAxisMarkerSitsAtItsDecade) {
  PlotOptions o;
  o.log_x = true;
  o.markers = {{1e-3, ""}};
  // x from 1e-5 to 1e-1: 1e-3 is the middle of the log axis.
  const cv::Mat img = LinePlot({{"", {1e-5, 1e-1}, {1, 1}}}, o);
  const cv::Rect area = PlotArea(800, 500);
  const int mid = area.x + area.width / 2;
  int red = 0;
  for (int y = area.y; y < area.y + area.height; ++y) {
    const cv::Vec3b v = img.at<cv::Vec3b>(y, mid);
    red += v[0] == 200 && v[1] == 0 && v[2] == 0;
  }
  EXPECT_GT(red, area.height / 3);
}

// Less than two decades: grid lines at 1, 2 and 5 times each power of ten, not only at 100.
TEST(PlotTest, ShortLogAxisGetsOneTwoFiveTicks) {
  PlotOptions o;
  o.log_x = true;
  const cv::Mat img = LinePlot({{"", {30, 600}, {0, 0}}}, o);
  const cv::Rect area = PlotArea(800, 500);
  auto grid_at = [&](double x) {
    const double f = (std::log10(x) - std::log10(30)) / (std::log10(600) - std::log10(30));
    const int col = area.x + static_cast<int>(std::lround(f * area.width));
    int grey = 0;
    for (int y = area.y; y < area.y + area.height; ++y) {
      const cv::Vec3b v = img.at<cv::Vec3b>(y, col);
      grey += v[0] == 200 && v[1] == 200 && v[2] == 200;
    }
    return grey > area.height / 2;
  };
  for (double x : {50.0, 100.0, 200.0, 500.0}) EXPECT_TRUE(grid_at(x)) << x;
  EXPECT_FALSE(grid_at(300));
}

TEST(PlotTest, NonFiniteAndEmptyInputsDoNotBreakIt) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  PlotOptions o;
  o.log_x = true;
  EXPECT_EQ(LinePlot({{"x", {1, -1, 10, 100}, {1, 2, nan, inf}}}, o).size(), cv::Size(800, 500));
  EXPECT_EQ(LinePlot({}, PlotOptions()).size(), cv::Size(800, 500));
  EXPECT_EQ(LinePlot({{"flat", {1, 2}, {3, 3}}}, PlotOptions()).size(), cv::Size(800, 500));
}

}  // namespace
}  // namespace malaria::evaluation
