// The rules and defaults of model_config.proto, beside it (no LibTorch: config validation uses
// them). The builder, BuildClassifier, is in models/classifier.h.
//
//   FillModelDefaults(&config);                         // fastai's head: [512], ps [0.25, 0.5]
//   ValidateModelConfig(config, problems.In("model"));  // "model.head.dropout: needs one value..."
#ifndef MALARIA_MODELS_MODEL_CONFIG_H_
#define MALARIA_MODELS_MODEL_CONFIG_H_

#include "base/problems.h"
#include "models/model_config.pb.h"

namespace malaria::models {

// FillHeadDefaults writes out the head's defaults where `head` leaves them empty: for fastai's
// create_head, hidden_features [512] and dropout 0.25 before every hidden layer and 0.5 before the
// last (fastai's ps=0.5 rule); for a LINEAR head, dropout [0].
void FillHeadDefaults(HeadConfig* head);

// FillModelDefaults fills the head's defaults (FillHeadDefaults).
void FillModelDefaults(ModelConfig* config);

// TorchvisionStem reports whether `stem` is torchvision's (7x7 stride 2 and the max-pool).
bool TorchvisionStem(const StemConfig& stem);

// ValidateModelConfig adds to `problems` every rule `config` breaks: an architecture the zoo does
// not know, non-positive hidden sizes (or any, for a LINEAR head), a dropout list that does not
// give one value per linear layer, dropouts outside [0, 1), a stem other than 3/5/7 with stride 1
// or 2, pretrained weights with a stem they do not fit.
void ValidateModelConfig(const ModelConfig& config, const base::ConfigProblems& problems);

}  // namespace malaria::models

#endif  // MALARIA_MODELS_MODEL_CONFIG_H_
