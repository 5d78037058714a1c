#include "evaluation/plot.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_format.h"
#include "opencv2/imgproc.hpp"

namespace malaria::evaluation {
namespace {

const cv::Scalar kBlack(0, 0, 0), kGrey(200, 200, 200), kDark(90, 90, 90);

// "Nice" tick values covering [lo, hi]: steps of 1, 2 or 5 times a power of ten.
std::vector<double> Ticks(double lo, double hi, int target) {
  std::vector<double> ticks;
  if (!(hi > lo)) return {lo};
  const double raw = (hi - lo) / target;
  const double magnitude = std::pow(10, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * magnitude >= raw) {
      step = m * magnitude;
      break;
    }
  }
  for (double t = std::ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) {
    ticks.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
  }
  return ticks;
}

std::string Format(double v) {
  if (v == 0) return "0";
  const double a = std::abs(v);
  if (a >= 1e4 || a < 1e-3) return absl::StrFormat("%.0e", v);
  return absl::StrFormat("%g", v);
}

void Text(cv::Mat& img, const std::string& s, cv::Point at, double scale = 0.45,
          const cv::Scalar& color = kBlack, int thickness = 1) {
  cv::putText(img, s, at, cv::FONT_HERSHEY_SIMPLEX, scale, color, thickness, cv::LINE_AA);
}

cv::Size TextSize(const std::string& s, double scale = 0.45, int thickness = 1) {
  int baseline;
  return cv::getTextSize(s, cv::FONT_HERSHEY_SIMPLEX, scale, thickness, &baseline);
}

// The series' error bar at point i: 0 where it has none.
double ErrorAt(const Series& s, size_t i) {
  return i < s.y_err.size() && std::isfinite(s.y_err[i]) ? std::abs(s.y_err[i]) : 0.0;
}

}  // namespace

cv::Scalar SeriesColor(int i) {
  static const cv::Scalar kPalette[] = {
      {0, 114, 178}, {213, 94, 0},   {0, 158, 115},  {204, 121, 167},
      {230, 159, 0}, {86, 180, 233}, {240, 228, 66}, {0, 0, 0},
  };
  return kPalette[i % 8];
}

cv::Rect PlotArea(int width, int height) {
  return cv::Rect(70, 40, std::max(10, width - 70 - 20), std::max(10, height - 40 - 55));
}

cv::Mat LinePlot(const std::vector<Series>& series, const PlotOptions& o) {
  cv::Mat img(o.height, o.width, CV_8UC3, cv::Scalar(255, 255, 255));
  const cv::Rect area = PlotArea(o.width, o.height);
  auto tx = [&](double x) { return o.log_x ? std::log10(x) : x; };
  auto usable = [&](double x, double y) {
    return std::isfinite(x) && std::isfinite(y) && (!o.log_x || x > 0);
  };

  double x_lo = std::numeric_limits<double>::infinity(), x_hi = -x_lo, y_lo = x_lo, y_hi = -x_lo;
  for (const Series& s : series) {
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!usable(s.x[i], s.y[i])) continue;
      x_lo = std::min(x_lo, tx(s.x[i]));
      x_hi = std::max(x_hi, tx(s.x[i]));
      const double err = ErrorAt(s, i);
      y_lo = std::min(y_lo, s.y[i] - err);
      y_hi = std::max(y_hi, s.y[i] + err);
    }
  }
  for (const auto& [x, label] : o.markers) {
    if (usable(x, 0)) {
      x_lo = std::min(x_lo, tx(x));
      x_hi = std::max(x_hi, tx(x));
    }
  }
  if (!std::isfinite(x_lo)) x_lo = 0, x_hi = 1;
  if (!std::isfinite(y_lo)) y_lo = 0, y_hi = 1;
  if (o.y_max > o.y_min) y_lo = o.y_min, y_hi = o.y_max;
  if (x_hi == x_lo) x_lo -= 0.5, x_hi += 0.5;
  // Points sit inside the frame, not on it.
  if (std::any_of(series.begin(), series.end(), [](const Series& s) { return s.points; })) {
    const double pad = 0.06 * (x_hi - x_lo);
    x_lo -= pad;
    x_hi += pad;
  }
  if (y_hi == y_lo) y_lo -= 0.5, y_hi += 0.5;
  if (!(o.y_max > o.y_min)) {
    const double pad = 0.05 * (y_hi - y_lo);
    y_lo -= pad;
    y_hi += pad;
  }
  auto px = [&](double x) {
    return area.x + static_cast<int>(std::lround((tx(x) - x_lo) / (x_hi - x_lo) * area.width));
  };
  auto py = [&](double y) {
    return area.y + area.height -
           static_cast<int>(std::lround((y - y_lo) / (y_hi - y_lo) * area.height));
  };

  // Grid and ticks.
  std::vector<double> xticks;
  if (o.log_x) {
    // Decades; where fewer than three fit, 1, 2 and 5 times each.
    const bool few = std::floor(x_hi) - std::ceil(x_lo) < 2;
    for (double d = std::floor(x_lo); d <= std::ceil(x_hi); d += 1) {
      for (double m : few ? std::vector<double>{1, 2, 5} : std::vector<double>{1}) {
        const double v = m * std::pow(10, d);
        if (std::log10(v) >= x_lo && std::log10(v) <= x_hi) xticks.push_back(v);
      }
    }
  } else {
    xticks = Ticks(x_lo, x_hi, 8);
  }
  for (double t : xticks) {
    const int x = px(t);
    cv::line(img, {x, area.y}, {x, area.y + area.height}, kGrey, 1);
    const std::string label = Format(t);
    Text(img, label, {x - TextSize(label).width / 2, area.y + area.height + 18});
  }
  for (double t : Ticks(y_lo, y_hi, 6)) {
    const int y = py(t);
    cv::line(img, {area.x, y}, {area.x + area.width, y}, kGrey, 1);
    const std::string label = Format(t);
    Text(img, label, {area.x - 8 - TextSize(label).width, y + 5});
  }
  cv::rectangle(img, area, kDark, 1);

  // Markers.
  for (const auto& [x, label] : o.markers) {
    if (!usable(x, 0)) continue;
    const int mx = px(x);
    for (int y = area.y; y < area.y + area.height; y += 8) {
      cv::line(img, {mx, y}, {mx, std::min(y + 4, area.y + area.height)}, cv::Scalar(200, 0, 0), 1);
    }
    Text(img, label, {std::min(mx + 4, o.width - TextSize(label).width - 2), area.y + 14}, 0.45,
         cv::Scalar(200, 0, 0));
  }

  // Series, clipped to the plot area.
  cv::Mat clip = img(area);
  for (size_t k = 0; k < series.size(); ++k) {
    const Series& s = series[k];
    std::vector<cv::Point> points;
    auto flush = [&]() {
      if (points.size() >= 2) {
        cv::polylines(clip, points, false, SeriesColor(k), 2, cv::LINE_AA);
      } else if (points.size() == 1) {
        cv::circle(clip, points[0], 2, SeriesColor(k), cv::FILLED);
      }
      points.clear();
    };
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!usable(s.x[i], s.y[i])) {
        flush();
        continue;
      }
      const cv::Point at(px(s.x[i]) - area.x, py(s.y[i]) - area.y);
      if (const double err = ErrorAt(s, i); err > 0) {
        const int top = py(s.y[i] + err) - area.y, bottom = py(s.y[i] - err) - area.y;
        cv::line(clip, {at.x, top}, {at.x, bottom}, SeriesColor(k), 1);
        cv::line(clip, {at.x - 4, top}, {at.x + 4, top}, SeriesColor(k), 1);
        cv::line(clip, {at.x - 4, bottom}, {at.x + 4, bottom}, SeriesColor(k), 1);
      }
      if (s.points) {
        cv::circle(clip, at, 5, SeriesColor(k), cv::FILLED, cv::LINE_AA);
      } else {
        points.push_back(at);
      }
    }
    flush();
  }
  // Point labels: right of the point, or left of it near the right edge; placed from the top
  // down, a label that would overlap one already placed moves down a line at a time.
  struct Label {
    std::string text;
    int x, y;
  };
  std::vector<Label> labels;
  for (const Series& s : series) {
    for (size_t i = 0; i < s.point_labels.size() && i < s.x.size() && i < s.y.size(); ++i) {
      if (s.point_labels[i].empty() || !usable(s.x[i], s.y[i])) continue;
      labels.push_back({s.point_labels[i], px(s.x[i]), py(s.y[i])});
    }
  }
  std::stable_sort(labels.begin(), labels.end(),
                   [](const Label& a, const Label& b) { return a.y < b.y; });
  std::vector<cv::Rect> placed;
  for (const Label& l : labels) {
    const cv::Size size = TextSize(l.text, 0.4);
    int x = l.x + 8;
    if (x + size.width > area.x + area.width - 2) x = l.x - 8 - size.width;
    cv::Rect box(std::max(2, x), l.y - 6 - size.height, size.width, size.height + 3);
    for (int tries = 0; tries < 12; ++tries) {
      const bool clear = std::none_of(placed.begin(), placed.end(),
                                      [&](const cv::Rect& r) { return (r & box).area() > 0; });
      if (clear) break;
      box.y += size.height + 4;
    }
    placed.push_back(box);
    Text(img, l.text, {box.x, box.y + size.height}, 0.4, kDark);
  }

  // Title, axis labels, legend.
  Text(img, o.title, {(o.width - TextSize(o.title, 0.6, 1).width) / 2, 25}, 0.6);
  Text(img, o.x_label, {area.x + (area.width - TextSize(o.x_label).width) / 2, o.height - 12});
  if (!o.y_label.empty()) {
    cv::Mat label(24, TextSize(o.y_label).width + 4, CV_8UC3, cv::Scalar(255, 255, 255));
    Text(label, o.y_label, {2, 17});
    cv::Mat rotated;
    cv::rotate(label, rotated, cv::ROTATE_90_COUNTERCLOCKWISE);
    const int top = std::max(0, area.y + (area.height - rotated.rows) / 2);
    if (top + rotated.rows <= o.height && rotated.cols <= 30)
      rotated.copyTo(img(cv::Rect(4, top, rotated.cols, rotated.rows)));
  }
  int ly = area.y + 10;
  for (size_t k = 0; k < series.size(); ++k) {
    if (series[k].label.empty()) continue;
    const int lx = area.x + area.width - 10 - TextSize(series[k].label).width - 28;
    if (series[k].points) {
      cv::circle(img, {lx + 10, ly}, 5, SeriesColor(k), cv::FILLED, cv::LINE_AA);
    } else {
      cv::line(img, {lx, ly}, {lx + 20, ly}, SeriesColor(k), 3);
    }
    Text(img, series[k].label, {lx + 26, ly + 5});
    ly += 18;
  }
  return img;
}

}  // namespace malaria::evaluation
