// The pictures a run and an evaluation write: the confusion matrix, the ROC curve, fastai's top
// losses, and the learning curves. OpenCV drawing; RGB images to save with data::WritePng.
//
//   cv::Mat cm = ConfusionMatrixImage(report);
//   cv::Mat top = TopLossesImage(tiles, titles);   // 3 columns, like fastai's plot_top_losses
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

// TopLossesImage lays the tiles (RGB, any size) out in rows of three, each scaled to `tile` px with
// its title lines ("predicted/actual", "loss / probability") above it.
cv::Mat TopLossesImage(const std::vector<cv::Mat>& tiles,
                       const std::vector<std::vector<std::string>>& titles, int tile = 160);

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
