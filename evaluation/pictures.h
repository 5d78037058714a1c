// The pictures a run and an evaluation write: the confusion matrix, the ROC curve, fastai's top
// losses, the learning curves, and contact sheets of images for a person to review. OpenCV drawing;
// RGB images to save with data::WritePng.
//
//   cv::Mat cm = ConfusionMatrixImage(report);
//   cv::Mat top = TopLossesImage(tiles, titles);   // 3 columns, like fastai's plot_top_losses
//   cv::Mat hot = HeatmapOverlay(tile, grad_cam);  // its heatmap over a tile
#ifndef MALARIA_EVALUATION_PICTURES_H_
#define MALARIA_EVALUATION_PICTURES_H_

#include <string>
#include <vector>

#include "evaluation/report.pb.h"
#include "opencv2/core/mat.hpp"

namespace malaria::evaluation {

// ConfusionMatrixImage draws the counts (rows actual, columns predicted, as fastai), shaded by
// each row's share, with the class names and the accuracy in the title.
cv::Mat ConfusionMatrixImage(const ClassificationReport& report);

// RocImage draws the ROC curve with the chance diagonal and the AUC in the title.
cv::Mat RocImage(const std::vector<double>& fpr, const std::vector<double>& tpr, double auc);

// How a contact sheet is laid out.
struct ContactSheetOptions {
  std::string title;  // one line above the grid, shrunk (then cut) to fit
  int columns = 4;
  int tile = 192;  // each image is scaled to tile x tile px (nearest neighbour: no blur)
};

// ContactSheetImage lays `tiles` (RGB or grayscale, any size; an empty one is drawn as
// "(unreadable)") out in rows of options.columns, each with its caption lines below it. Each line
// is fitted to the tile's width (FitText), so captions never run into their neighbours.
cv::Mat ContactSheetImage(const std::vector<cv::Mat>& tiles,
                          const std::vector<std::vector<std::string>>& captions,
                          const ContactSheetOptions& options);

// A line of text at the size it is drawn.
struct FittedText {
  std::string text;
  double scale;  // OpenCV Hershey simplex font scale
};

// FitText returns `text` at `scale`, shrunk towards `min_scale` until it is at most `width` px
// wide; if even min_scale is too wide, the text is cut and ends with "...".
FittedText FitText(const std::string& text, int width, double scale, double min_scale);

// TopLossesImage is fastai's plot_top_losses: a contact sheet of three columns titled
// "Prediction/Actual/Loss/Probability", each tile `tile` px with its lines ("predicted/actual",
// "loss / probability") below it.
cv::Mat TopLossesImage(const std::vector<cv::Mat>& tiles,
                       const std::vector<std::vector<std::string>>& titles, int tile = 160);

// HeatmapOverlay draws `heat` (CV_32F, any size: a Grad-CAM grid) over `rgb` (CV_8UC3) as fastai
// v1's plot_top_losses does: resized bilinearly to the image, scaled from its minimum to its
// maximum, coloured with matplotlib's magma and blended in with weight `alpha`. RGB, rgb's size.
cv::Mat HeatmapOverlay(const cv::Mat& rgb, const cv::Mat& heat, double alpha = 0.6);

// One epoch of the learning curves.
struct CurvePoint {
  std::string stage;
  int epoch = 0;
  double train_loss = 0, valid_loss = 0, accuracy = 0;
};

// LearningCurvesImage draws two panels against the epoch count over all stages: training and
// validation loss, and validation accuracy, with each stage's start marked.
cv::Mat LearningCurvesImage(const std::vector<CurvePoint>& points, const std::string& title);

}  // namespace malaria::evaluation

#endif  // MALARIA_EVALUATION_PICTURES_H_
