#include "inference/predictor.h"

#include <ATen/autocast_mode.h>
#include <torch/torch.h>

#include <memory>
#include <stdexcept>
#include <vector>

#include "base/cpu_peak.h"
#include "base/test_util.h"
#include "data/dataset.h"
#include "data/synthetic.h"
#include "evaluation/calibration.h"
#include "gtest/gtest.h"
#include "inference/autocast.h"
#include "models/classifier.h"

namespace malaria::inference {
namespace {

using evaluation::EvaluationConfig;

// 24 synthetic cells (two classes) on disk, loaded at 32 px.
std::shared_ptr<const data::ImageSource> Cells() {
  static std::shared_ptr<const data::ImageSource> source = [] {
    const std::string dir = base::TestDir("predictor") + "/cells";  // new: written whole
    data::SyntheticOptions o;
    o.num_images = 24;
    o.image_size = 40;
    o.seed = 3;
    EXPECT_TRUE(data::WriteSyntheticDataset(dir, o).ok());
    absl::StatusOr<data::Dataset> dataset = data::ScanImageFolder(dir);
    EXPECT_TRUE(dataset.ok()) << dataset.status();
    std::vector<data::BadImage> bad;
    return std::make_shared<const data::ImageSource>(
        data::ImageSource::Load(*dataset, 32, 1, int64_t{1} << 26, &bad));
  }();
  return source;
}

Member SmallMember(int seed, torch::Dtype dtype = torch::kFloat) {
  models::ModelConfig config;
  config.set_architecture("resnet");
  config.mutable_shape()->add_widths(8);
  config.mutable_shape()->add_widths(16);
  config.mutable_shape()->add_blocks(1);
  config.mutable_shape()->add_blocks(1);
  config.mutable_stem()->set_kernel_size(3);
  config.mutable_stem()->set_stride(2);
  config.mutable_stem()->set_max_pool(false);
  torch::manual_seed(seed);
  Member m;
  absl::StatusOr<models::Classifier> model = models::BuildClassifier(config, 2);
  EXPECT_TRUE(model.ok()) << model.status();
  m.model = *model;
  m.model->to(dtype);
  m.input.image_size = 32;
  m.input.batch_size = 5;  // the last batch incomplete
  m.input.threads = 1;
  return m;
}

// Every image of Cells() as one [N, 3, 32, 32] batch, normalised as `input` says, in `dtype`.
torch::Tensor AllImages(const data::LoaderOptions& input, torch::Dtype dtype) {
  data::LoaderOptions one = input;
  one.batch_size = 1000;
  std::vector<int> all(Cells()->dataset().examples.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int>(i);
  data::BatchLoader loader(Cells(), all, one);
  loader.StartEpoch(0);
  data::Batch batch;
  EXPECT_TRUE(*loader.Next(&batch));
  return BatchImages(batch, dtype, {torch::kCPU, false}).clone();
}

// In float64, the predictor's rows are the softmax of the network over each view the setting
// names, averaged, computed here by hand: the mirror image and the upside-down one.
TEST(PredictorTest, RowsAreTheViewsSoftmaxAveraged) {
  Member m = SmallMember(1, torch::kDouble);
  m.compute.channels_last = false;
  const std::vector<int> all = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  data::BatchLoader loader(Cells(), all, m.input);
  absl::StatusOr<Predictions> p =
      Predictor::PredictLoader(m, {EvaluationConfig::TTA_FLIPS, 0}, &loader);
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->size(), 13);
  EXPECT_EQ(p->indices, all);

  torch::NoGradGuard no_grad;
  m.model->eval();
  const torch::Tensor x = AllImages(m.input, torch::kDouble).narrow(0, 0, 13);
  const torch::Tensor expected =
      (torch::softmax(m.model->forward(x), 1) + torch::softmax(m.model->forward(x.flip({3})), 1) +
       torch::softmax(m.model->forward(x.flip({2})), 1)) /
      3;
  double loss_sum = 0;
  for (int i = 0; i < 13; ++i) {
    for (int k = 0; k < 2; ++k) {
      EXPECT_NEAR(p->probabilities[2 * i + k], expected[i][k].item<double>(), 1e-6);
    }
    const double loss = -std::log(expected[i][p->labels[i]].item<double>());
    EXPECT_NEAR(p->losses[i], loss, 1e-5);
    loss_sum += loss;
  }
  EXPECT_NEAR(p->mean_loss, loss_sum / 13, 1e-5);
  // Without views: the network's own softmax, which differs.
  data::BatchLoader plain_loader(Cells(), all, m.input);
  absl::StatusOr<Predictions> plain = Predictor::PredictLoader(m, {}, &plain_loader);
  ASSERT_TRUE(plain.ok());
  EXPECT_NEAR(plain->probabilities[0], torch::softmax(m.model->forward(x), 1)[0][0].item<double>(),
              1e-6);
  EXPECT_NE(plain->probabilities, p->probabilities);
}

// An ensemble: each member's probabilities at its temperature, averaged (as evaluation's own
// functions compute it from the members' sets), with the decision carried for two classes.
TEST(PredictorTest, AnEnsembleAveragesItsMembersAtTheirTemperatures) {
  Member a = SmallMember(1), b = SmallMember(2);
  const evaluation::Tta tta{EvaluationConfig::TTA_HORIZONTAL, 0};
  absl::StatusOr<evaluation::PredictionSet> pa = Predictor({a}, tta).Predict(Cells());
  absl::StatusOr<evaluation::PredictionSet> pb = Predictor({b}, tta).Predict(Cells());
  ASSERT_TRUE(pa.ok() && pb.ok());
  EXPECT_EQ(pa->size(), static_cast<int>(Cells()->dataset().examples.size()));
  EXPECT_EQ(pa->paths.size(), pa->labels.size());
  EXPECT_EQ(pa->decision_positive, -1);  // no decision

  a.temperature = 0.5;
  b.temperature = 2.0;
  absl::StatusOr<evaluation::PredictionSet> both =
      Predictor({a, b}, tta, Decision{1, 0.3}).Predict(Cells());
  ASSERT_TRUE(both.ok()) << both.status();
  absl::StatusOr<evaluation::PredictionSet> expected = evaluation::AveragePredictions(
      {evaluation::WithTemperature(*pa, 0.5), evaluation::WithTemperature(*pb, 2.0)});
  ASSERT_TRUE(expected.ok());
  EXPECT_EQ(both->probabilities, expected->probabilities);
  EXPECT_EQ(both->paths, expected->paths);
  EXPECT_EQ(both->decision_positive, 1);
  EXPECT_EQ(both->decision_threshold, 0.3);

  // A subset of the examples, in the order given.
  absl::StatusOr<evaluation::PredictionSet> some = Predictor({a}, tta).Predict(Cells(), {5, 2});
  ASSERT_TRUE(some.ok());
  ASSERT_EQ(some->size(), 2);
  EXPECT_EQ(some->paths[0], pa->paths[5]);
  EXPECT_EQ(some->paths[1], pa->paths[2]);
}

TEST(PredictorTest, ChannelsLastGivesTheSameRows) {
  Member nchw = SmallMember(4);
  nchw.compute.channels_last = false;
  Member nhwc = SmallMember(4);
  models::ToChannelsLast(*nhwc.model);
  absl::StatusOr<evaluation::PredictionSet> a = Predictor({nchw}, {}).Predict(Cells());
  absl::StatusOr<evaluation::PredictionSet> b = Predictor({nhwc}, {}).Predict(Cells());
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->probabilities.size(), b->probabilities.size());
  for (size_t i = 0; i < a->probabilities.size(); ++i) {
    EXPECT_NEAR(a->probabilities[i], b->probabilities[i], 1e-5);
  }
}

// bfloat16 autocast on the CPU where it has the units: close to float32, not equal to it.
TEST(PredictorTest, Bfloat16AutocastPredictsCloseToFloat32) {
  if (!base::PeakUnitSupported(base::PeakUnit::kAvx512Bf16Dot)) {
    GTEST_SKIP() << "this CPU has no bfloat16 units";
  }
  Member fp32 = SmallMember(5);
  Member bf16 = SmallMember(5);
  bf16.compute.autocast = torch::kBFloat16;
  absl::StatusOr<evaluation::PredictionSet> a = Predictor({fp32}, {}).Predict(Cells());
  absl::StatusOr<evaluation::PredictionSet> b = Predictor({bf16}, {}).Predict(Cells());
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->probabilities, b->probabilities);
  for (size_t i = 0; i < a->probabilities.size(); ++i) {
    EXPECT_NEAR(a->probabilities[i], b->probabilities[i], 0.05);
  }
  EXPECT_FALSE(at::autocast::is_cpu_enabled());  // off again after the predictions
}

TEST(PredictorTest, AutocastScopeTurnsItselfOffWhateverHappens) {
  EXPECT_FALSE(at::autocast::is_cpu_enabled());
  {
    AutocastScope none(torch::kCPU, torch::kFloat);
    EXPECT_FALSE(none.on());
    EXPECT_FALSE(at::autocast::is_cpu_enabled());
  }
  try {
    AutocastScope on(torch::kCPU, torch::kBFloat16);
    EXPECT_TRUE(on.on());
    EXPECT_TRUE(at::autocast::is_cpu_enabled());
    throw std::runtime_error("a forward pass failed");
  } catch (const std::runtime_error&) {
  }
  EXPECT_FALSE(at::autocast::is_cpu_enabled());
}

TEST(PredictorTest, NoMembersIsAnError) {
  EXPECT_EQ(Predictor({}, {}).Predict(Cells()).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace malaria::inference
