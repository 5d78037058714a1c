#include "experiments/heatmaps.h"

#include <torch/torch.h>

#include <array>
#include <utility>

#include "data/data_config.h"
#include "data/transforms.h"
#include "evaluation/pictures.h"
#include "opencv2/imgproc.hpp"

namespace malaria::experiments {
namespace {

// A model with the normalisation its config gives its evaluation inputs.
struct Normalised {
  models::Classifier model;
  std::array<float, 3> mean;
  std::array<float, 3> std;
};

// The mean Grad-CAM map of `models` for `crop` (data.image_size square, RGB) and class `target`,
// at the crop's size; empty when no model's grid is fine enough.
cv::Mat MeanHeatmap(const std::vector<Normalised>& models, const cv::Mat& crop, int64_t target) {
  cv::Mat sum = cv::Mat::zeros(crop.size(), CV_32F);
  int drawn = 0;
  for (const Normalised& m : models) {
    torch::Tensor x = torch::empty({1, 3, crop.rows, crop.cols});
    data::ToNormalizedChw(crop, m.mean, m.std, x.data_ptr<float>());
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
  // Each model's normalisation, once; a config that gives none fails every picture with its error.
  std::vector<Normalised> normalised;
  absl::Status problem;
  for (HeatmapModel& m : models) {
    absl::StatusOr<data::LoaderOptions> options = data::BuildLoaderOptions(
        m.config->data(), data::LoaderRole::kEvaluation, m.config->seed(), 1);
    if (!options.ok()) {
      problem = options.status();
      break;
    }
    normalised.push_back({std::move(m.model), options->mean, options->std});
  }
  return
      [images = std::move(images), labels = std::move(labels), normalised = std::move(normalised),
       problem = std::move(problem), size](int i) -> absl::StatusOr<cv::Mat> {
        absl::StatusOr<cv::Mat> image = images(i);
        if (!image.ok() || image->empty()) return image;
        if (!problem.ok()) return problem;
        const cv::Mat crop = data::CenterCrop(*image, size);
        const cv::Mat heat = MeanHeatmap(normalised, crop, labels[i]);
        if (heat.empty()) return crop;
        return evaluation::HeatmapOverlay(crop, heat);
      };
}

}  // namespace malaria::experiments
