#include "inference/tta.h"

#include <torch/types.h>

#include <vector>

#include "evaluation/tta_setting.h"
#include "gtest/gtest.h"

namespace malaria::inference {
namespace {

// A 3 x 3 image with nine distinct values: every symmetry of the square moves it differently.
torch::Tensor Square() { return torch::arange(9, torch::kFloat).reshape({1, 1, 3, 3}); }

// The views of setting `flips` (evaluation.tta_flips' number) with `shift_px`.
std::vector<torch::Tensor> Views(const torch::Tensor& images, int flips, int shift_px = 0) {
  return TtaViews(images, {static_cast<evaluation::EvaluationConfig::TtaFlips>(flips), shift_px});
}

torch::Tensor Image(std::vector<float> values) {
  return torch::tensor(values).reshape({1, 1, 3, 3});
}

TEST(TtaTest, ViewsPerSetting) {
  EXPECT_EQ(Views(Square(), 0).size(), 1u);
  EXPECT_EQ(Views(Square(), 1).size(), 2u);
  EXPECT_EQ(Views(Square(), 2).size(), 3u);
  EXPECT_EQ(Views(Square(), 3).size(), 8u);
  EXPECT_TRUE(torch::equal(Views(Square(), 0)[0], Square()));
}

TEST(TtaTest, FlipsAreTheStudysOnes) {
  const std::vector<torch::Tensor> v = Views(Square(), 2);
  // 0 1 2 / 3 4 5 / 6 7 8 mirrored left to right, then upside down.
  EXPECT_TRUE(torch::equal(v[1], Image({2, 1, 0, 5, 4, 3, 8, 7, 6})));
  EXPECT_TRUE(torch::equal(v[2], Image({6, 7, 8, 3, 4, 5, 0, 1, 2})));
}

TEST(TtaTest, EightViewsAreTheWholeDihedralGroup) {
  const std::vector<torch::Tensor> v = Views(Square(), 3);
  // The four rotations by 90 degrees (torch::rot90 as the reference) and their mirror images.
  std::vector<torch::Tensor> expected;
  for (int k = 0; k < 4; ++k) {
    const torch::Tensor r = torch::rot90(Square(), k, {2, 3});
    expected.push_back(r);
    expected.push_back(r.flip({3}));
  }
  for (const torch::Tensor& e : expected) {
    int matches = 0;
    for (const torch::Tensor& view : v) matches += torch::equal(view, e) ? 1 : 0;
    EXPECT_EQ(matches, 1) << e;
  }
}

TEST(TtaTest, EightViewsNeedSquareImages) {
  EXPECT_THROW(Views(torch::zeros({1, 1, 3, 4}), 3), c10::Error);
  EXPECT_EQ(Views(torch::zeros({1, 1, 3, 4}), 2).size(), 3u);
}

// Multi-crop: each flip view, then itself shifted one pixel down-right and up-left, the edges
// reflected (reflection_pad2d: the row above row 0 is row 1).
TEST(TtaTest, ShiftsFollowEachFlipView) {
  const std::vector<torch::Tensor> v = Views(Square(), 1, /*shift_px=*/1);
  ASSERT_EQ(v.size(), 6u);
  EXPECT_TRUE(torch::equal(v[0], Square()));
  // 0 1 2 / 3 4 5 / 6 7 8 moved down and right: out[y][x] = in[y-1][x-1], reflected at the edges.
  EXPECT_TRUE(torch::equal(v[1], Image({4, 3, 4, 1, 0, 1, 4, 3, 4})));
  // Up and left: out[y][x] = in[y+1][x+1].
  EXPECT_TRUE(torch::equal(v[2], Image({4, 5, 4, 7, 8, 7, 4, 5, 4})));
  EXPECT_TRUE(torch::equal(v[3], Square().flip({3})));
  EXPECT_TRUE(torch::equal(v[4], Views(Square().flip({3}), 0, 1)[1]));
  EXPECT_EQ(Views(Square(), 3, 2).size(), 24u);
  EXPECT_THROW(Views(Square(), 0, 3), c10::Error);  // as large as the image

  // A bright pixel inside a larger image moves by exactly the shift.
  torch::Tensor dot = torch::zeros({1, 1, 8, 8});
  dot[0][0][4][3] = 1;
  const std::vector<torch::Tensor> d = Views(dot, 0, 2);
  EXPECT_EQ(d[1][0][0][6][5].item<float>(), 1);
  EXPECT_EQ(d[2][0][0][2][1].item<float>(), 1);
  EXPECT_EQ(d[1].sum().item<float>(), 1);
}

TEST(TtaTest, SettingsMatchTheViews) {
  // evaluation.tta_flips' values are the views' numbers, its largest the last view count, and
  // evaluation/tta_setting.h's words say how many.
  using evaluation::EvaluationConfig;
  const torch::Tensor square = torch::zeros({1, 1, 3, 3});
  EXPECT_EQ(Views(square, EvaluationConfig::TTA_NONE).size(), 1u);
  EXPECT_EQ(Views(square, EvaluationConfig::TTA_HORIZONTAL).size(), 2u);
  EXPECT_EQ(Views(square, EvaluationConfig::TTA_FLIPS).size(), 3u);
  EXPECT_EQ(Views(square, EvaluationConfig::TTA_DIHEDRAL).size(), 8u);
  EXPECT_EQ(EvaluationConfig::TtaFlips_MAX, EvaluationConfig::TTA_DIHEDRAL);
  EXPECT_STREQ(evaluation::TtaDescription(EvaluationConfig::TTA_NONE), "");
  EXPECT_STREQ(evaluation::TtaDescription(EvaluationConfig::TTA_HORIZONTAL),
               "horizontal flips averaged");
  EXPECT_STREQ(evaluation::TtaDescription(EvaluationConfig::TTA_FLIPS),
               "horizontal and vertical flips averaged");
  EXPECT_STREQ(evaluation::TtaDescription(EvaluationConfig::TTA_DIHEDRAL),
               "all 8 flips and rotations averaged");
  EXPECT_STREQ(evaluation::TtaClause(EvaluationConfig::TTA_FLIPS),
               ", horizontal and vertical flips averaged");
  EXPECT_EQ(*evaluation::TtaFlipsFromFlag(3), EvaluationConfig::TTA_DIHEDRAL);
  EXPECT_NE(evaluation::TtaFlipsFromFlag(4).status().message().find("--tta must be 0, 1, 2 or 3"),
            std::string::npos);
  EXPECT_FALSE(evaluation::TtaFlipsFromFlag(-1).ok());
  const absl::StatusOr<evaluation::Tta> both = evaluation::TtaFromFlags(2, 1);
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(both->flips, EvaluationConfig::TTA_FLIPS);
  EXPECT_EQ(evaluation::TtaClause(*both),
            ", horizontal and vertical flips averaged, each with its 1 px shifts averaged");
  EXPECT_EQ(evaluation::TtaClause(evaluation::Tta{EvaluationConfig::TTA_NONE, 2}),
            ", the image with its 2 px shifts averaged");
  EXPECT_NE(evaluation::TtaFromFlags(0, 9).status().message().find("--tta_shift must be in [0, 8]"),
            std::string::npos);
  // Flags not given: the views the model's own run evaluated and calibrated with; a flag given
  // overrides its half.
  EvaluationConfig own;
  own.set_tta_flips(EvaluationConfig::TTA_FLIPS);
  own.set_tta_shift_px(2);
  const absl::StatusOr<evaluation::Tta> as_run =
      evaluation::TtaFromFlags(evaluation::kTtaOwn, evaluation::kTtaOwn, own);
  ASSERT_TRUE(as_run.ok());
  EXPECT_EQ(as_run->flips, EvaluationConfig::TTA_FLIPS);
  EXPECT_EQ(as_run->shift_px, 2);
  const absl::StatusOr<evaluation::Tta> none =
      evaluation::TtaFromFlags(0, evaluation::kTtaOwn, own);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->flips, EvaluationConfig::TTA_NONE);
  EXPECT_EQ(none->shift_px, 2);
}

}  // namespace
}  // namespace malaria::inference
