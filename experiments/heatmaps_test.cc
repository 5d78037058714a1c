#include "experiments/heatmaps.h"

#include <torch/torch.h>

#include <string>

#include "data/transforms.h"
#include "evaluation/pictures.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "opencv2/imgproc.hpp"

namespace malaria::experiments {
namespace {

ExperimentConfig Config(const std::string& text) {
  ExperimentConfig config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &config));
  return config;
}

models::Classifier Model(const ExperimentConfig& config, int seed) {
  torch::manual_seed(seed);
  return *models::BuildClassifier(config.model(), 2);
}

// A 60 x 50 cell: dark ring on a light background, a dark dot inside.
cv::Mat Cell() {
  cv::Mat image(60, 50, CV_8UC3, cv::Scalar(210, 200, 205));
  cv::circle(image, {25, 30}, 18, cv::Scalar(120, 110, 130), 3);
  cv::circle(image, {30, 26}, 3, cv::Scalar(40, 20, 60), cv::FILLED);
  return image;
}

bool Same(const cv::Mat& a, const cv::Mat& b) {
  return a.size() == b.size() && a.type() == b.type() && cv::norm(a, b, cv::NORM_INF) == 0;
}

// What WithHeatmaps should draw for `models` on Cell() and class `target`: the crop, normalised
// as each config says, through models::GradCam, resized and averaged, then overlaid.
cv::Mat Expected(const std::vector<HeatmapModel>& models, int64_t target) {
  const cv::Mat crop = data::CenterCrop(Cell(), 50);
  cv::Mat sum = cv::Mat::zeros(crop.size(), CV_32F);
  for (const HeatmapModel& m : models) {
    const auto& n = m.config->data().normalization();
    torch::Tensor x = torch::empty({1, 3, 50, 50});
    data::ToNormalizedChw(crop, {n.mean(0), n.mean(1), n.mean(2)}, {n.std(0), n.std(1), n.std(2)},
                          x.data_ptr<float>());
    torch::Tensor map = models::GradCam(*m.model.ptr(), x, target).contiguous();
    cv::Mat resized;
    cv::resize(cv::Mat(4, 4, CV_32F, map.data_ptr<float>()), resized, crop.size(), 0, 0,
               cv::INTER_LINEAR);
    sum += resized;
  }
  return evaluation::HeatmapOverlay(crop, sum / static_cast<double>(models.size()));
}

const char* kSmallStem =
    "data { image_size: 50 normalization { mean: [0.5, 0.5, 0.5] std: [0.25, 0.25, 0.25] } } "
    "model { architecture: 'resnet18' stem { kernel_size: 3 stride: 2 max_pool: false } }";

TEST(HeatmapsTest, DrawsTheLabelledClasssGradCamOverTheCropTheModelSaw) {
  const ExperimentConfig config = Config(kSmallStem);
  const models::Classifier model = Model(config, 1);
  const evaluation::ImageOf images =
      WithHeatmaps([](int) { return Cell(); }, {0, 1}, {{model, &config}});
  const absl::StatusOr<cv::Mat> first = images(0), second = images(1);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(first->size(), cv::Size(50, 50));
  EXPECT_TRUE(Same(*first, Expected({{model, &config}}, 0)));
  EXPECT_TRUE(Same(*second, Expected({{model, &config}}, 1)));
  EXPECT_FALSE(Same(*first, *second));  // each image's own label
  EXPECT_FALSE(Same(*first, data::CenterCrop(Cell(), 50)));
}

TEST(HeatmapsTest, AnEnsembleDrawsItsMembersMeanMap) {
  const ExperimentConfig config = Config(kSmallStem);
  const std::vector<HeatmapModel> members = {{Model(config, 1), &config},
                                             {Model(config, 2), &config}};
  const absl::StatusOr<cv::Mat> image = WithHeatmaps([](int) { return Cell(); }, {1}, members)(0);
  ASSERT_TRUE(image.ok()) << image.status();
  EXPECT_TRUE(Same(*image, Expected(members, 1)));
  EXPECT_FALSE(Same(*image, Expected({members[0]}, 1)));
}

TEST(HeatmapsTest, ImagesUnchangedWhenOffOrTooCoarse) {
  const ExperimentConfig off = Config(std::string(kSmallStem) + " evaluation { heatmap: false }");
  const evaluation::ImageOf plain = [](int) { return Cell(); };
  EXPECT_TRUE(Same(*WithHeatmaps(plain, {0}, {{Model(off, 1), &off}})(0), Cell()));
  EXPECT_TRUE(Same(*WithHeatmaps(plain, {0}, {})(0), Cell()));
  // torchvision's stem leaves a 50 px image 2 x 2 cells: under fastai's 16, so the crop alone.
  const ExperimentConfig coarse =
      Config("data { image_size: 50 } model { architecture: 'resnet18' }");
  EXPECT_TRUE(Same(*WithHeatmaps(plain, {0}, {{Model(coarse, 1), &coarse}})(0),
                   data::CenterCrop(Cell(), 50)));
}

TEST(HeatmapsTest, AnUnreadableImageKeepsItsError) {
  const ExperimentConfig config = Config(kSmallStem);
  const absl::StatusOr<cv::Mat> image =
      WithHeatmaps([](int) -> absl::StatusOr<cv::Mat> { return absl::DataLossError("bad.png"); },
                   {0}, {{Model(config, 1), &config}})(0);
  EXPECT_EQ(image.status(), absl::DataLossError("bad.png"));
}

}  // namespace
}  // namespace malaria::experiments
