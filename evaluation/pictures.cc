#include "evaluation/pictures.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "evaluation/plot.h"
#include "opencv2/imgproc.hpp"

namespace malaria::evaluation {
namespace {

void Text(cv::Mat& img, const std::string& s, cv::Point at, double scale, const cv::Scalar& color,
          int thickness = 1) {
  cv::putText(img, s, at, cv::FONT_HERSHEY_SIMPLEX, scale, color, thickness, cv::LINE_AA);
}

int TextWidth(const std::string& s, double scale, int thickness = 1) {
  int baseline;
  return cv::getTextSize(s, cv::FONT_HERSHEY_SIMPLEX, scale, thickness, &baseline).width;
}

}  // namespace

cv::Mat ConfusionMatrixImage(const ClassificationReport& report) {
  const int c = report.classes_size();
  const int cell = 120, left = 150, top = 90;
  cv::Mat img(top + c * cell + 60, left + c * cell + 30, CV_8UC3, cv::Scalar(255, 255, 255));
  const std::string title = absl::StrFormat("Confusion matrix (accuracy %.4f)", report.accuracy());
  Text(img, title, {(img.cols - TextWidth(title, 0.6)) / 2, 28}, 0.6, cv::Scalar(0, 0, 0));
  Text(img, "Predicted", {left + (c * cell - TextWidth("Predicted", 0.5)) / 2, top - 35}, 0.5,
       cv::Scalar(0, 0, 0));
  for (int a = 0; a < c; ++a) {
    int64_t row_total = 0;
    for (int p = 0; p < c; ++p) row_total += report.confusion(a * c + p);
    for (int p = 0; p < c; ++p) {
      const int64_t n = report.confusion(a * c + p);
      const double share = row_total == 0 ? 0 : static_cast<double>(n) / row_total;
      const cv::Rect r(left + p * cell, top + a * cell, cell, cell);
      // White to fastai's blue, by the row's share.
      const cv::Scalar shade(255 - share * (255 - 8), 255 - share * (255 - 48),
                             255 - share * (255 - 107));
      cv::rectangle(img, r, shade, cv::FILLED);
      cv::rectangle(img, r, cv::Scalar(120, 120, 120), 1);
      const std::string count = absl::StrCat(n);
      const cv::Scalar ink = share > 0.5 ? cv::Scalar(255, 255, 255) : cv::Scalar(0, 0, 0);
      Text(img, count, {r.x + (cell - TextWidth(count, 0.8, 2)) / 2, r.y + cell / 2 + 10}, 0.8, ink,
           2);
    }
    const std::string name = report.classes(a);
    Text(img, name, {left - 10 - TextWidth(name, 0.45), top + a * cell + cell / 2 + 5}, 0.45,
         cv::Scalar(0, 0, 0));
  }
  for (int p = 0; p < c; ++p) {
    const std::string name = report.classes(p);
    Text(img, name, {left + p * cell + (cell - TextWidth(name, 0.45)) / 2, top - 10}, 0.45,
         cv::Scalar(0, 0, 0));
  }
  Text(img, "Actual", {10, top - 10}, 0.5, cv::Scalar(0, 0, 0));
  return img;
}

cv::Mat RocImage(const std::vector<double>& fpr, const std::vector<double>& tpr, double auc) {
  PlotOptions o;
  o.title = absl::StrFormat("ROC curve (AUC %.4f)", auc);
  o.x_label = "false positive rate";
  o.y_label = "true positive rate";
  o.width = 560;
  o.height = 520;
  o.y_min = 0;
  o.y_max = 1;
  return LinePlot({{"model", fpr, tpr}, {"chance", {0, 1}, {0, 1}}}, o);
}

FittedText FitText(const std::string& text, int width, double scale, double min_scale) {
  FittedText fitted{text, scale};
  while (TextWidth(fitted.text, fitted.scale) > width && fitted.scale - 0.025 >= min_scale) {
    fitted.scale -= 0.025;
  }
  if (TextWidth(fitted.text, fitted.scale) <= width) return fitted;
  // Still too wide at the smallest size: keep what fits, and say that something was cut.
  std::string cut = text;
  while (!cut.empty() && TextWidth(cut + "...", fitted.scale) > width) cut.pop_back();
  fitted.text = cut + "...";
  return fitted;
}

cv::Mat ContactSheetImage(const std::vector<cv::Mat>& tiles,
                          const std::vector<std::vector<std::string>>& captions,
                          const ContactSheetOptions& o) {
  const int pad = 12, title_height = 36, line_height = 17;
  size_t lines = 0;
  for (const auto& c : captions) lines = std::max(lines, c.size());
  const int columns = std::max(1, o.columns);
  const int rows = std::max<int>(1, (tiles.size() + columns - 1) / columns);
  const int cell_height = o.tile + static_cast<int>(lines) * line_height + 8;
  const int width = columns * (o.tile + pad) + pad;
  cv::Mat img(title_height + rows * (cell_height + pad) + pad, width, CV_8UC3,
              cv::Scalar(255, 255, 255));
  const FittedText title = FitText(o.title, width - 2 * pad, 0.6, 0.4);
  Text(img, title.text, {pad, 24}, title.scale, cv::Scalar(0, 0, 0));
  for (size_t i = 0; i < tiles.size(); ++i) {
    const int x = pad + static_cast<int>(i % columns) * (o.tile + pad);
    const int y = title_height + pad + static_cast<int>(i / columns) * (cell_height + pad);
    if (!tiles[i].empty()) {
      cv::Mat scaled;
      cv::resize(tiles[i], scaled, cv::Size(o.tile, o.tile), 0, 0, cv::INTER_NEAREST);
      if (scaled.channels() == 1) cv::cvtColor(scaled, scaled, cv::COLOR_GRAY2RGB);
      scaled.copyTo(img(cv::Rect(x, y, o.tile, o.tile)));
    } else {
      cv::rectangle(img, cv::Rect(x, y, o.tile, o.tile), cv::Scalar(200, 200, 200), 1);
      Text(img, "(unreadable)", {x + 6, y + o.tile / 2}, 0.4, cv::Scalar(120, 120, 120));
    }
    for (size_t line = 0; i < captions.size() && line < captions[i].size(); ++line) {
      // A few pixels short of the tile: anti-aliased glyphs spill a little past their box.
      const FittedText t = FitText(captions[i][line], o.tile - 4, 0.45, 0.33);
      Text(img, t.text, {x, y + o.tile + 14 + line_height * static_cast<int>(line)}, t.scale,
           cv::Scalar(0, 0, 0));
    }
  }
  return img;
}

cv::Mat HeatmapOverlay(const cv::Mat& rgb, const cv::Mat& heat, double alpha) {
  cv::Mat resized;
  cv::resize(heat, resized, rgb.size(), 0, 0, cv::INTER_LINEAR);
  double lo = 0, hi = 0;
  cv::minMaxLoc(resized, &lo, &hi);
  // matplotlib's default normalisation: the minimum to the bottom colour, the maximum to the top
  // (a constant map is all bottom).
  const double scale = hi > lo ? 255.0 / (hi - lo) : 0.0;
  cv::Mat levels, coloured, out;
  resized.convertTo(levels, CV_8U, scale, -lo * scale);
  cv::applyColorMap(levels, coloured, cv::COLORMAP_MAGMA);
  cv::cvtColor(coloured, coloured, cv::COLOR_BGR2RGB);
  cv::addWeighted(rgb, 1.0 - alpha, coloured, alpha, 0.0, out);
  return out;
}

cv::Mat TopLossesImage(const std::vector<cv::Mat>& tiles,
                       const std::vector<std::vector<std::string>>& titles, int tile) {
  ContactSheetOptions o;
  o.title = "Prediction/Actual/Loss/Probability";
  o.columns = 3;
  o.tile = tile;
  return ContactSheetImage(tiles, titles, o);
}

cv::Mat LearningCurvesImage(const std::vector<CurvePoint>& points, const std::string& title) {
  Series train{"train loss (smoothed)", {}, {}}, valid{"valid loss", {}, {}},
      accuracy{"accuracy", {}, {}};
  std::vector<std::pair<double, std::string>> markers;
  for (size_t i = 0; i < points.size(); ++i) {
    const double x = static_cast<double>(i + 1);
    train.x.push_back(x);
    train.y.push_back(points[i].train_loss);
    valid.x.push_back(x);
    valid.y.push_back(points[i].valid_loss);
    accuracy.x.push_back(x);
    accuracy.y.push_back(points[i].accuracy);
    if (i == 0 || points[i].stage != points[i - 1].stage)
      markers.emplace_back(x - 0.5, points[i].stage);
  }
  PlotOptions o;
  o.title = title + ": loss";
  o.x_label = "epoch (all stages)";
  o.height = 380;
  o.markers = markers;
  cv::Mat losses = LinePlot({train, valid}, o);
  o.title = title + ": validation accuracy";
  o.y_min = 0;
  o.y_max = 1;
  cv::Mat acc = LinePlot({accuracy}, o);
  cv::Mat both;
  cv::vconcat(losses, acc, both);
  return both;
}

}  // namespace malaria::evaluation
