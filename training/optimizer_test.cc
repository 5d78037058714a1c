#include "training/optimizer.h"

#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>

#include "gtest/gtest.h"

namespace malaria::training {
namespace {

models::Classifier Model() {
  models::ModelConfig config;
  config.set_architecture("resnet18");
  return *models::BuildClassifier(config, 2);
}

const torch::optim::AdamWOptions& Options(const LayerGroupOptimizer& a, int i) {
  return static_cast<const torch::optim::AdamWOptions&>(a.optimizer->param_groups()[i].options());
}

const torch::optim::SGDOptions& SgdOptions(const LayerGroupOptimizer& a, int i) {
  return static_cast<const torch::optim::SGDOptions&>(a.optimizer->param_groups()[i].options());
}

TEST(OptimizerTest, OneGroupPerLayerGroupAndBatchNormSplit) {
  models::Classifier model = Model();
  OptimizerConfig config;
  config.set_weight_decay(0.01);
  config.set_bn_weight_decay(false);
  LayerGroupOptimizer a = MakeLayerGroupOptimizer(model, config, {1e-5, 1e-4, 1e-3}, 0.95);
  // Every layer group trains: (regular, BatchNorm) for each of the three.
  EXPECT_EQ(a.layer_of, (std::vector<int>{0, 0, 1, 1, 2, 2}));
  EXPECT_DOUBLE_EQ(Options(a, 0).lr(), 1e-5);
  EXPECT_DOUBLE_EQ(Options(a, 5).lr(), 1e-3);
  EXPECT_DOUBLE_EQ(Options(a, 0).weight_decay(), 0.01);
  EXPECT_DOUBLE_EQ(Options(a, 1).weight_decay(), 0.0);  // BatchNorm: bn_weight_decay is off
  EXPECT_DOUBLE_EQ(std::get<0>(Options(a, 2).betas()), 0.95);
  int64_t in_groups = 0, trainable = 0;
  for (const auto& g : a.optimizer->param_groups()) in_groups += g.params().size();
  for (const auto& p : model->parameters()) trainable += p.requires_grad();
  EXPECT_EQ(in_groups, trainable);  // every trainable parameter, once

  SetHyperParameters(a, {2e-5, 2e-4, 2e-3}, 0.85, 0.98);
  EXPECT_DOUBLE_EQ(Options(a, 3).lr(), 2e-4);
  EXPECT_DOUBLE_EQ(std::get<0>(Options(a, 3).betas()), 0.85);
  EXPECT_DOUBLE_EQ(std::get<1>(Options(a, 3).betas()), 0.98);
}

TEST(OptimizerTest, FrozenGroupsKeepOnlyTheirBatchNorm) {
  models::Classifier model = Model();
  model->FreezeTo(-1, /*train_bn=*/true);  // fastai's freeze(): head, and the body's BatchNorm
  LayerGroupOptimizer a =
      MakeLayerGroupOptimizer(model, OptimizerConfig(), {1e-3, 1e-3, 1e-3}, 0.9);
  EXPECT_EQ(a.layer_of, (std::vector<int>{0, 1, 2, 2}));  // body groups: BatchNorm only
  model->FreezeTo(-1, /*train_bn=*/false);
  EXPECT_EQ(MakeLayerGroupOptimizer(model, OptimizerConfig(), {1e-3, 1e-3, 1e-3}, 0.9).layer_of,
            (std::vector<int>{2, 2}));
}

TEST(OptimizerTest, NesterovSgdGroupsAndTwoStepsInClosedForm) {
  models::Classifier model = Model();
  OptimizerConfig config;
  config.set_algorithm(OptimizerConfig::SGD_NESTEROV);
  config.set_weight_decay(5e-4);
  config.set_bn_weight_decay(false);
  LayerGroupOptimizer a = MakeLayerGroupOptimizer(model, config, {0.01, 0.02, 0.1}, 0.9);
  ASSERT_NE(dynamic_cast<torch::optim::SGD*>(a.optimizer.get()), nullptr);
  EXPECT_EQ(a.layer_of, (std::vector<int>{0, 0, 1, 1, 2, 2}));
  EXPECT_DOUBLE_EQ(SgdOptions(a, 0).lr(), 0.01);
  EXPECT_DOUBLE_EQ(SgdOptions(a, 4).lr(), 0.1);
  EXPECT_DOUBLE_EQ(SgdOptions(a, 0).momentum(), 0.9);
  EXPECT_TRUE(SgdOptions(a, 0).nesterov());
  EXPECT_DOUBLE_EQ(SgdOptions(a, 0).weight_decay(), 5e-4);
  EXPECT_DOUBLE_EQ(SgdOptions(a, 1).weight_decay(), 0.0);  // BatchNorm

  // The head's last parameter group (BatchNorm: no decay) and a regular body group, gradient 1:
  // Nesterov's first step moves by lr (1 + m) g with buffer b = g; the second, with momentum m2,
  // by lr (g + m2 b'), b' = m2 b + g.
  torch::NoGradGuard no_grad;
  torch::Tensor bn = a.optimizer->param_groups()[5].params()[0];
  torch::Tensor body = a.optimizer->param_groups()[0].params()[0];
  const torch::Tensor bn0 = bn.clone(), body0 = body.clone();
  auto set_grads = [&] {
    for (auto& group : a.optimizer->param_groups()) {
      for (auto& p : group.params()) p.mutable_grad() = torch::ones_like(p);
    }
  };
  set_grads();
  a.optimizer->step();
  EXPECT_TRUE(torch::allclose(bn, bn0 - 0.1 * 1.9));
  const torch::Tensor g_body = 1 + 5e-4 * body0;  // coupled L2
  const torch::Tensor body1 = body0 - 0.01 * 1.9 * g_body;
  EXPECT_TRUE(torch::allclose(body, body1));

  SetHyperParameters(a, {0.02, 0.04, 0.2}, 0.8, /*beta2=*/0.5);  // beta2: unused by SGD
  EXPECT_DOUBLE_EQ(SgdOptions(a, 5).lr(), 0.2);
  EXPECT_DOUBLE_EQ(SgdOptions(a, 5).momentum(), 0.8);
  set_grads();
  a.optimizer->step();
  // b' = 0.8 * 1 + 1 = 1.8; step 0.2 * (1 + 0.8 * 1.8) = 0.2 * 2.44.
  EXPECT_TRUE(torch::allclose(bn, bn0 - 0.19 - 0.2 * 2.44));
}

// bn_lr_scale multiplies the BatchNorm groups' learning rates, at build and at every schedule step;
// without model.batch_norm_scale those groups hold only the body's biases (and the head's
// BatchNorm).
TEST(OptimizerTest, BatchNormLearningRateScaleAndFixedScales) {
  models::ModelConfig model_config;
  model_config.set_architecture("resnet18");
  model_config.set_batch_norm_scale(false);
  models::Classifier model = *models::BuildClassifier(model_config, 2);
  model->FreezeTo(0, /*train_bn=*/true);
  OptimizerConfig config;
  config.set_bn_lr_scale(8);
  LayerGroupOptimizer a = MakeLayerGroupOptimizer(model, config, {1e-4, 1e-3, 1e-2}, 0.9);
  EXPECT_EQ(a.layer_of, (std::vector<int>{0, 0, 1, 1, 2, 2}));
  EXPECT_EQ(a.lr_scale, (std::vector<double>{1, 8, 1, 8, 1, 8}));
  EXPECT_DOUBLE_EQ(Options(a, 0).lr(), 1e-4);
  EXPECT_DOUBLE_EQ(Options(a, 1).lr(), 8e-4);
  SetHyperParameters(a, {2e-4, 2e-3, 2e-2}, 0.9, 0.99);
  EXPECT_DOUBLE_EQ(Options(a, 2).lr(), 2e-3);
  EXPECT_DOUBLE_EQ(Options(a, 3).lr(), 1.6e-2);
  EXPECT_DOUBLE_EQ(Options(a, 5).lr(), 0.16);
  // Body BatchNorm groups: biases only (one per layer), the fixed weights stay out.
  for (int i : {1, 3}) {
    for (const auto& p : a.optimizer->param_groups()[i].params()) {
      EXPECT_FALSE(model->IsFixed(p));
      EXPECT_EQ(p.dim(), 1);
    }
  }
  int64_t in_groups = 0, trainable = 0;
  for (const auto& g : a.optimizer->param_groups()) in_groups += g.params().size();
  for (const auto& p : model->parameters()) trainable += p.requires_grad();
  EXPECT_EQ(in_groups, trainable);
  EXPECT_EQ(static_cast<int64_t>(model->parameters().size()) - trainable, 20);  // resnet18's BN
}

}  // namespace
}  // namespace malaria::training
