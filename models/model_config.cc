#include "models/model_config.h"

#include "absl/strings/str_cat.h"
#include "models/architectures.h"

namespace malaria::models {

void FillHeadDefaults(HeadConfig* head) {
  if (head->hidden_features_size() == 0) head->add_hidden_features(512);
  if (head->dropout_size() == 0) {
    for (int i = 0; i < head->hidden_features_size(); ++i) head->add_dropout(0.25f);
    head->add_dropout(0.5f);
  }
}

void FillModelDefaults(ModelConfig* config) { FillHeadDefaults(config->mutable_head()); }

void ValidateModelConfig(const ModelConfig& m, const base::ConfigProblems& p) {
  if (!IsKnownArchitecture(m.architecture())) {
    p.Add("architecture", absl::StrCat("unknown architecture '", m.architecture(),
                                       "'; known: ", KnownArchitecturesList()));
  }
  const HeadConfig& h = m.head();
  const base::ConfigProblems hp = p.In("head");
  for (int i = 0; i < h.hidden_features_size(); ++i) {
    hp.Require(h.hidden_features(i) > 0, absl::StrCat("hidden_features[", i, "]"), "must be > 0",
               h.hidden_features(i));
  }
  const int linear = (h.hidden_features_size() == 0 ? 1 : h.hidden_features_size()) + 1;
  if (h.dropout_size() != 0 && h.dropout_size() != linear) {
    hp.Add("dropout",
           absl::StrCat("needs one value per linear layer (", linear, "), got ", h.dropout_size()));
  }
  for (int i = 0; i < h.dropout_size(); ++i) {
    hp.Require(h.dropout(i) >= 0 && h.dropout(i) < 1, absl::StrCat("dropout[", i, "]"),
               "must be in [0, 1)", h.dropout(i));
  }
}

}  // namespace malaria::models
