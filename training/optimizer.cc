#include "training/optimizer.h"

#include <tuple>
#include <utility>

namespace malaria::training {

LayerGroupAdamW MakeLayerGroupAdamW(models::Classifier& model, const AdamWConfig& config,
                                    const std::vector<double>& lrs, double beta1) {
  LayerGroupAdamW adamw;
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
      auto options = std::make_unique<torch::optim::AdamWOptions>(lrs[g]);
      options->betas(std::make_tuple(beta1, config.beta2())).eps(config.eps()).weight_decay(wd);
      groups.emplace_back(std::move(params), std::move(options));
      adamw.layer_of.push_back(static_cast<int>(g));
    }
  }
  TORCH_CHECK(!groups.empty(), "no trainable parameters");
  adamw.optimizer = std::make_unique<torch::optim::AdamW>(std::move(groups));
  return adamw;
}

void SetHyperParameters(LayerGroupAdamW& adamw, const std::vector<double>& lrs, double beta1,
                        double beta2) {
  auto& groups = adamw.optimizer->param_groups();
  for (size_t i = 0; i < groups.size(); ++i) {
    auto& options = static_cast<torch::optim::AdamWOptions&>(groups[i].options());
    options.lr(lrs[adamw.layer_of[i]]);
    options.betas(std::make_tuple(beta1, beta2));
  }
}

}  // namespace malaria::training
