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

// FillHeadDefaults writes out fastai v1's create_head defaults where `head` leaves them empty:
// hidden_features [512]; dropout 0.25 before every hidden layer and 0.5 before the last (fastai's
// ps=0.5 rule).
void FillHeadDefaults(HeadConfig* head);

// FillModelDefaults fills the head's defaults (FillHeadDefaults).
void FillModelDefaults(ModelConfig* config);

// ValidateModelConfig adds to `problems` every rule `config` breaks: an architecture the zoo does
// not know, non-positive hidden sizes, a dropout list that does not give one value per linear
// layer, dropouts outside [0, 1).
void ValidateModelConfig(const ModelConfig& config, const base::ConfigProblems& problems);

}  // namespace malaria::models

#endif  // MALARIA_MODELS_MODEL_CONFIG_H_
