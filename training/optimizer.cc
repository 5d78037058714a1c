#include "training/optimizer.h"

#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>

#include <tuple>
#include <utility>

namespace malaria::training {

LayerGroupOptimizer MakeLayerGroupOptimizer(models::Classifier& model,
                                            const OptimizerConfig& config,
                                            const std::vector<double>& lrs, double momentum) {
  LayerGroupOptimizer result;
  result.algorithm = config.algorithm();
  const bool sgd = config.algorithm() == OptimizerConfig::SGD_NESTEROV;
  std::vector<torch::optim::OptimizerParamGroup> groups;
  auto layer_groups = model->LayerGroups();
  for (size_t g = 0; g < layer_groups.size(); ++g) {
    std::vector<torch::Tensor> regular, batch_norm;
    for (const auto& top : layer_groups[g]) {
      for (const auto& module : top->modules(/*include_self=*/true)) {
        const bool is_bn = models::IsBatchNorm(*module);
        for (const auto& p : module->parameters(/*recurse=*/false)) {
          if (p.requires_grad()) (is_bn ? batch_norm : regular).push_back(p);
        }
      }
    }
    for (int kind = 0; kind < 2; ++kind) {
      std::vector<torch::Tensor>& params = kind == 0 ? regular : batch_norm;
      if (params.empty()) continue;
      const double wd = (kind == 1 && !config.bn_weight_decay()) ? 0.0 : config.weight_decay();
      const double scale = kind == 1 ? config.bn_lr_scale() : 1.0;
      if (sgd) {
        auto options = std::make_unique<torch::optim::SGDOptions>(lrs[g] * scale);
        options->momentum(momentum).nesterov(true).weight_decay(wd);
        groups.emplace_back(std::move(params), std::move(options));
      } else {
        auto options = std::make_unique<torch::optim::AdamWOptions>(lrs[g] * scale);
        options->betas(std::make_tuple(momentum, config.beta2()))
            .eps(config.eps())
            .weight_decay(wd);
        groups.emplace_back(std::move(params), std::move(options));
      }
      result.layer_of.push_back(static_cast<int>(g));
      result.lr_scale.push_back(scale);
    }
  }
  TORCH_CHECK(!groups.empty(), "no trainable parameters");
  if (sgd) {
    // SGDOptions' defaults are only read for groups without options; every group has its own.
    result.optimizer = std::make_unique<torch::optim::SGD>(
        std::move(groups), torch::optim::SGDOptions(lrs[0]).momentum(momentum).nesterov(true));
  } else {
    result.optimizer = std::make_unique<torch::optim::AdamW>(std::move(groups));
  }
  return result;
}

void SetHyperParameters(LayerGroupOptimizer& optimizer, const std::vector<double>& lrs,
                        double momentum, double beta2) {
  auto& groups = optimizer.optimizer->param_groups();
  for (size_t i = 0; i < groups.size(); ++i) {
    const double lr = lrs[optimizer.layer_of[i]] * optimizer.lr_scale[i];
    if (optimizer.algorithm == OptimizerConfig::SGD_NESTEROV) {
      auto& options = static_cast<torch::optim::SGDOptions&>(groups[i].options());
      options.lr(lr);
      options.momentum(momentum);
    } else {
      auto& options = static_cast<torch::optim::AdamWOptions&>(groups[i].options());
      options.lr(lr);
      options.betas(std::make_tuple(momentum, beta2));
    }
  }
}

}  // namespace malaria::training
