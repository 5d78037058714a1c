#include "inference/heatmaps.h"

#include <torch/torch.h>

#include <string>

#include "data/data_config.h"
#include "data/transforms.h"
#include "evaluation/pictures.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "opencv2/imgproc.hpp"

namespace malaria::inference {
namespace {

// A member: the network `model_text` (ModelConfig) describes, initialised from `seed`, with the
// evaluation input `data_text` (DataConfig) describes.
Member Make(const std::string& data_text, const std::string& model_text, int seed) {
  data::DataConfig data;
  models::ModelConfig model;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(data_text, &data));
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(model_text, &model));
  torch::manual_seed(seed);
  Member m;
  m.model = *models::BuildClassifier(model, 2);
  m.input = *data::BuildLoaderOptions(data, data::LoaderRole::kEvaluation, 0, 1);
  return m;
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

// What WithHeatmaps should draw for `members` on Cell() and class `target`: the crop, normalised
// with mean 0.5 and sd 0.25 (kSmallData's), through models::GradCam, resized and averaged, then
// overlaid.
cv::Mat Expected(const std::vector<Member>& members, int64_t target) {
  const cv::Mat crop = data::CenterCrop(Cell(), 50);
  cv::Mat sum = cv::Mat::zeros(crop.size(), CV_32F);
  for (const Member& m : members) {
    torch::Tensor x = torch::empty({1, 3, 50, 50});
    data::ToNormalizedChw(crop, {0.5, 0.5, 0.5}, {0.25, 0.25, 0.25}, x.data_ptr<float>());
    torch::Tensor map = models::GradCam(*m.model.ptr(), x, target).contiguous();
    cv::Mat resized;
    cv::resize(cv::Mat(4, 4, CV_32F, map.data_ptr<float>()), resized, crop.size(), 0, 0,
               cv::INTER_LINEAR);
    sum += resized;
  }
  return evaluation::HeatmapOverlay(crop, sum / static_cast<double>(members.size()));
}

const char* kSmallData =
    "image_size: 50 normalization { mean: [0.5, 0.5, 0.5] std: [0.25, 0.25, 0.25] }";
const char* kSmallStem =
    "architecture: 'resnet18' stem { kernel_size: 3 stride: 2 max_pool: false }";

TEST(HeatmapsTest, DrawsTheLabelledClasssGradCamOverTheCropTheModelSaw) {
  const Member member = Make(kSmallData, kSmallStem, 1);
  const evaluation::ImageOf images = WithHeatmaps([](int) { return Cell(); }, {0, 1}, {member});
  const absl::StatusOr<cv::Mat> first = images(0), second = images(1);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(first->size(), cv::Size(50, 50));
  EXPECT_TRUE(Same(*first, Expected({member}, 0)));
  EXPECT_TRUE(Same(*second, Expected({member}, 1)));
  EXPECT_FALSE(Same(*first, *second));  // each image's own label
  EXPECT_FALSE(Same(*first, data::CenterCrop(Cell(), 50)));
}

TEST(HeatmapsTest, AnEnsembleDrawsItsMembersMeanMap) {
  const std::vector<Member> members = {Make(kSmallData, kSmallStem, 1),
                                       Make(kSmallData, kSmallStem, 2)};
  const absl::StatusOr<cv::Mat> image = WithHeatmaps([](int) { return Cell(); }, {1}, members)(0);
  ASSERT_TRUE(image.ok()) << image.status();
  EXPECT_TRUE(Same(*image, Expected(members, 1)));
  EXPECT_FALSE(Same(*image, Expected({members[0]}, 1)));
}

TEST(HeatmapsTest, ImagesUnchangedWithoutMembersOrTooCoarse) {
  const evaluation::ImageOf plain = [](int) { return Cell(); };
  EXPECT_TRUE(Same(*WithHeatmaps(plain, {0}, {})(0), Cell()));
  // torchvision's stem leaves a 50 px image 2 x 2 cells: under fastai's 16, so the crop alone.
  const Member coarse = Make("image_size: 50", "architecture: 'resnet18'", 1);
  EXPECT_TRUE(Same(*WithHeatmaps(plain, {0}, {coarse})(0), data::CenterCrop(Cell(), 50)));
}

TEST(HeatmapsTest, AnUnreadableImageKeepsItsError) {
  const absl::StatusOr<cv::Mat> image =
      WithHeatmaps([](int) -> absl::StatusOr<cv::Mat> { return absl::DataLossError("bad.png"); },
                   {0}, {Make(kSmallData, kSmallStem, 1)})(0);
  EXPECT_EQ(image.status(), absl::DataLossError("bad.png"));
}

}  // namespace
}  // namespace malaria::inference
