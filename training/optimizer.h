// fastai v1's optimizer for a classifier: AdamW over the trainable parameters, one parameter group
// per (layer group, BatchNorm or not), like fastai's split_bn_bias, so each layer group gets its
// own learning rate and BatchNorm parameters may skip weight decay.
//
//   LayerGroupAdamW adamw = MakeLayerGroupAdamW(model, stage.optimizer(), lrs, /*beta1=*/0.95);
//   SetHyperParameters(adamw, {1e-5, 1e-4, 1e-3}, /*beta1=*/0.9, /*beta2=*/0.99);
#ifndef MALARIA_TRAINING_OPTIMIZER_H_
#define MALARIA_TRAINING_OPTIMIZER_H_

#include <torch/optim/adamw.h>

#include <memory>
#include <vector>

#include "models/classifier.h"
#include "training/training_config.pb.h"

namespace malaria::training {

struct LayerGroupAdamW {
  std::unique_ptr<torch::optim::AdamW> optimizer;
  std::vector<int> layer_of;  // the layer group of each parameter group
};

// MakeLayerGroupAdamW builds AdamW over `model`'s trainable parameters (requires_grad), with
// `lrs[g]` for layer group g, betas (beta1, config.beta2), config.eps and config.weight_decay
// (none on BatchNorm parameters unless config.bn_weight_decay). Layer groups with nothing to train
// get no parameter group. c10::Error when nothing at all trains.
LayerGroupAdamW MakeLayerGroupAdamW(models::Classifier& model, const AdamWConfig& config,
                                    const std::vector<double>& lrs, double beta1);

// SetHyperParameters sets each parameter group's learning rate (that of its layer group in `lrs`)
// and betas, as the schedule asks before every batch.
void SetHyperParameters(LayerGroupAdamW& adamw, const std::vector<double>& lrs, double beta1,
                        double beta2);

}  // namespace malaria::training

#endif  // MALARIA_TRAINING_OPTIMIZER_H_
