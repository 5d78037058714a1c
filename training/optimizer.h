// fastai v1's optimizer for a classifier: AdamW (or Nesterov SGD) over the trainable parameters,
// one parameter group per (layer group, BatchNorm or not), like fastai's split_bn_bias, so each
// layer group gets its own learning rate and BatchNorm parameters may skip weight decay.
//
//   LayerGroupOptimizer opt = MakeLayerGroupOptimizer(model, stage.optimizer(), lrs, 0.95);
//   SetHyperParameters(opt, {1e-5, 1e-4, 1e-3}, /*momentum=*/0.9, /*beta2=*/0.99);
#ifndef MALARIA_TRAINING_OPTIMIZER_H_
#define MALARIA_TRAINING_OPTIMIZER_H_

#include <torch/optim/optimizer.h>

#include <memory>
#include <vector>

#include "models/classifier.h"
#include "training/training_config.pb.h"

namespace malaria::training {

struct LayerGroupOptimizer {
  OptimizerConfig::Algorithm algorithm = OptimizerConfig::ADAMW;
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  std::vector<int> layer_of;     // the layer group of each parameter group
  std::vector<double> lr_scale;  // its learning rate over its layer group's (bn_lr_scale)
};

// MakeLayerGroupOptimizer builds config.algorithm() over `model`'s trainable parameters
// (requires_grad), with `lrs[g]` for layer group g (times config.bn_lr_scale for BatchNorm
// parameters) and config.weight_decay (none on BatchNorm parameters unless config.bn_weight_decay).
// `momentum` is AdamW's beta1 (with config.beta2 and config.eps) or SGD's Nesterov momentum. Layer
// groups with nothing to train get no parameter group. c10::Error when nothing at all trains.
LayerGroupOptimizer MakeLayerGroupOptimizer(models::Classifier& model,
                                            const OptimizerConfig& config,
                                            const std::vector<double>& lrs, double momentum);

// SetHyperParameters sets each parameter group's learning rate (that of its layer group in `lrs`,
// times its lr_scale)
// and momentum (AdamW: betas (momentum, beta2); SGD: momentum), as the schedule asks before every
// batch.
void SetHyperParameters(LayerGroupOptimizer& optimizer, const std::vector<double>& lrs,
                        double momentum, double beta2);

}  // namespace malaria::training

#endif  // MALARIA_TRAINING_OPTIMIZER_H_
