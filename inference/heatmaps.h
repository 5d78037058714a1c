// fastai v1's heatmaps over the top losses: the images of a prediction set as the model saw them,
// with the Grad-CAM map of each image's labelled class drawn over them.
//
//   evaluation::ImageOf images = WithHeatmaps(plain, set.labels, predictor.members());
//   evaluation::WriteReport(folder, set, classes, positive, config.evaluation(), images);
#ifndef MALARIA_INFERENCE_HEATMAPS_H_
#define MALARIA_INFERENCE_HEATMAPS_H_

#include <cstdint>
#include <vector>

#include "evaluation/report_writer.h"
#include "inference/predictor.h"

namespace malaria::inference {

// WithHeatmaps returns, for example i of a prediction set with `labels`, images(i) centre-cropped
// to the first member's input.image_size (what the models saw) with the mean of the members'
// Grad-CAM maps of class labels[i] (models::GradCam on the crop normalised as each member's input
// says, each map resized to the crop) drawn over it (evaluation::HeatmapOverlay). Members whose
// feature grid has fewer than models::kMinHeatmapCells cells draw nothing; when none draws, the
// crop is returned; when `members` is empty (evaluation.heatmap false: the caller's choice),
// `images` unchanged. An image's error is returned as it is.
evaluation::ImageOf WithHeatmaps(evaluation::ImageOf images, std::vector<int64_t> labels,
                                 std::vector<Member> members);

}  // namespace malaria::inference

#endif  // MALARIA_INFERENCE_HEATMAPS_H_
