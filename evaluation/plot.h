// Line plots drawn with OpenCV, for the pictures a run writes (learning-rate finder, learning
// curves, ROC curves). No plotting library is needed.
//
//   PlotOptions o;
//   o.title = "Learning-rate finder";
//   o.x_label = "learning rate";
//   o.log_x = true;
//   o.markers = {{3e-3, "suggested 3.0e-03"}};
//   cv::Mat rgb = LinePlot({{"smoothed loss", lrs, losses}}, o);
//   RETURN_IF_ERROR(data::WritePng(rgb, run.File("lr_find_stage1.png")));
#ifndef MALARIA_EVALUATION_PLOT_H_
#define MALARIA_EVALUATION_PLOT_H_

#include <string>
#include <utility>
#include <vector>

#include "opencv2/core/mat.hpp"

namespace malaria::evaluation {

struct Series {
  std::string label;
  std::vector<double> x;
  std::vector<double> y;
  // Markers (filled circles) at the points instead of a line through them (a scatter plot).
  bool points = false;
  // Optional, one per point: an error bar of +- y_err[i] (where finite) and a text beside it.
  std::vector<double> y_err;
  std::vector<std::string> point_labels;
};

struct PlotOptions {
  std::string title;
  std::string x_label;
  std::string y_label;
  bool log_x = false;
  int width = 800;
  int height = 500;
  // Vertical lines at these x values, with labels.
  std::vector<std::pair<double, std::string>> markers;
  // Fixed y range (both set): otherwise the data's range, padded.
  double y_min = 0, y_max = 0;
};

// LinePlot draws the series (non-finite points skipped; x must be positive when log_x) with axes,
// ticks, labels, markers and a legend; the y range takes in the error bars. Returns an RGB image of
// options.width x options.height.
cv::Mat LinePlot(const std::vector<Series>& series, const PlotOptions& options);

// SeriesColor returns the RGB colour of the i-th series (a fixed, colour-blind-friendly palette).
cv::Scalar SeriesColor(int i);

// The plot area's pixel rectangle inside a LinePlot of the given size.
cv::Rect PlotArea(int width, int height);

}  // namespace malaria::evaluation

#endif  // MALARIA_EVALUATION_PLOT_H_
