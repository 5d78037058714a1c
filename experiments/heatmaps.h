// fastai v1's heatmaps over the top losses: the images of a prediction set as the model saw them,
// with the Grad-CAM map of each image's labelled class drawn over them.
//
//   evaluation::ImageOf images = WithHeatmaps(plain, set.labels, {{model, &config}});
//   evaluation::WriteReport(folder, set, classes, positive, config.evaluation(), images);
#ifndef MALARIA_EXPERIMENTS_HEATMAPS_H_
#define MALARIA_EXPERIMENTS_HEATMAPS_H_

#include <cstdint>
#include <vector>

#include "evaluation/report_writer.h"
#include "experiments/experiment.pb.h"
#include "models/classifier.h"

namespace malaria::experiments {

// A model whose heatmaps are drawn, with the config it was trained with (its data.image_size and
// normalisation).
struct HeatmapModel {
  models::Classifier model;
  const ExperimentConfig* config = nullptr;
};

// WithHeatmaps returns, for example i of a prediction set with `labels`, images(i) centre-cropped
// to data.image_size (what the models saw) with the mean of the models' Grad-CAM maps of class
// labels[i] (models::GradCam, each resized to the image) drawn over it
// (evaluation::HeatmapOverlay). Models whose feature grid has fewer than models::kMinHeatmapCells
// cells draw nothing; when none draws, or `models` is empty or the first config's
// evaluation.heatmap is false, `images` is returned unchanged. An image's error is returned as it
// is.
evaluation::ImageOf WithHeatmaps(evaluation::ImageOf images, std::vector<int64_t> labels,
                                 std::vector<HeatmapModel> models);

}  // namespace malaria::experiments

#endif  // MALARIA_EXPERIMENTS_HEATMAPS_H_
