#include "inference/heatmaps.h"

#include <torch/torch.h>

#include <array>
#include <utility>

#include "data/transforms.h"
#include "evaluation/pictures.h"
#include "opencv2/imgproc.hpp"

namespace malaria::inference {
namespace {

// The mean Grad-CAM map of `models` for `crop` (data.image_size square, RGB) and class `target`,
// at the crop's size; empty when no model's grid is fine enough.
cv::Mat MeanHeatmap(const std::vector<Member>& members, const cv::Mat& crop, int64_t target) {
  cv::Mat sum = cv::Mat::zeros(crop.size(), CV_32F);
  int drawn = 0;
  for (const Member& m : members) {
    torch::Tensor x = torch::empty({1, 3, crop.rows, crop.cols});
    data::ToNormalizedChw(crop, m.input.mean, m.input.std, x.data_ptr<float>());
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
                                 std::vector<Member> members) {
  if (members.empty()) return images;
  const int size = members[0].input.image_size;
  return [images = std::move(images), labels = std::move(labels), members = std::move(members),
          size](int i) -> absl::StatusOr<cv::Mat> {
    absl::StatusOr<cv::Mat> image = images(i);
    if (!image.ok() || image->empty()) return image;
    const cv::Mat crop = data::CenterCrop(*image, size);
    const cv::Mat heat = MeanHeatmap(members, crop, labels[i]);
    if (heat.empty()) return crop;
    return evaluation::HeatmapOverlay(crop, heat);
  };
}

}  // namespace malaria::inference
