#include "experiments/heatmaps.h"

#include <torch/torch.h>

#include <utility>

#include "data/data_config.h"
#include "data/transforms.h"
#include "evaluation/pictures.h"
#include "opencv2/imgproc.hpp"

namespace malaria::experiments {
namespace {

// The mean Grad-CAM map of `models` for `crop` (data.image_size square, RGB) and class `target`,
// at the crop's size; empty when no model's grid is fine enough.
absl::StatusOr<cv::Mat> MeanHeatmap(const std::vector<HeatmapModel>& models, const cv::Mat& crop,
                                    int64_t target) {
  cv::Mat sum = cv::Mat::zeros(crop.size(), CV_32F);
  int drawn = 0;
  for (const HeatmapModel& m : models) {
    absl::StatusOr<data::LoaderOptions> options = data::BuildLoaderOptions(
        m.config->data(), data::LoaderRole::kEvaluation, m.config->seed(), 1);
    if (!options.ok()) return options.status();
    torch::Tensor x = torch::empty({1, 3, crop.rows, crop.cols});
    data::ToNormalizedChw(crop, options->mean, options->std, x.data_ptr<float>());
    const torch::Tensor map = models::GradCam(*m.model.ptr(), x, target).contiguous();
    if (map.numel() < models::kMinHeatmapCells) continue;
    const cv::Mat grid(static_cast<int>(map.size(0)), static_cast<int>(map.size(1)), CV_32F,
                       map.data_ptr<float>());
    cv::Mat resized;
    cv::resize(grid, resized, crop.size(), 0, 0, cv::INTER_LINEAR);
    sum += resized;
    ++drawn;
  }
  if (drawn == 0) return cv::Mat();
  return cv::Mat(sum / drawn);
}

}  // namespace

evaluation::ImageOf WithHeatmaps(evaluation::ImageOf images, std::vector<int64_t> labels,
                                 std::vector<HeatmapModel> models) {
  if (models.empty() || !models[0].config->evaluation().heatmap()) return images;
  const int size = models[0].config->data().image_size();
  return [images = std::move(images), labels = std::move(labels), models = std::move(models),
          size](int i) -> absl::StatusOr<cv::Mat> {
    absl::StatusOr<cv::Mat> image = images(i);
    if (!image.ok() || image->empty()) return image;
    const cv::Mat crop = data::CenterCrop(*image, size);
    absl::StatusOr<cv::Mat> heat = MeanHeatmap(models, crop, labels[i]);
    if (!heat.ok()) return heat.status();
    if (heat->empty()) return crop;
    return evaluation::HeatmapOverlay(crop, *heat);
  };
}

}  // namespace malaria::experiments
