#include "training/optimizer.h"

#include "gtest/gtest.h"

namespace malaria::training {
namespace {

models::Classifier Model() {
  models::ModelConfig config;
  config.set_architecture("resnet18");
  return *models::BuildClassifier(config, 2);
}

const torch::optim::AdamWOptions& Options(const LayerGroupAdamW& a, int i) {
  return static_cast<const torch::optim::AdamWOptions&>(a.optimizer->param_groups()[i].options());
}

TEST(OptimizerTest, OneGroupPerLayerGroupAndBatchNormSplit) {
  models::Classifier model = Model();
  AdamWConfig config;
  config.set_weight_decay(0.01);
  config.set_bn_weight_decay(false);
  LayerGroupAdamW a = MakeLayerGroupAdamW(model, config, {1e-5, 1e-4, 1e-3}, 0.95);
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
  LayerGroupAdamW a = MakeLayerGroupAdamW(model, AdamWConfig(), {1e-3, 1e-3, 1e-3}, 0.9);
  EXPECT_EQ(a.layer_of, (std::vector<int>{0, 1, 2, 2}));  // body groups: BatchNorm only
  model->FreezeTo(-1, /*train_bn=*/false);
  EXPECT_EQ(MakeLayerGroupAdamW(model, AdamWConfig(), {1e-3, 1e-3, 1e-3}, 0.9).layer_of,
            (std::vector<int>{2, 2}));
}

}  // namespace
}  // namespace malaria::training
