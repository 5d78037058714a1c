#include "models/model_config.h"

#include "absl/strings/str_cat.h"
#include "models/architectures.h"

namespace malaria::models {

void FillHeadDefaults(HeadConfig* head) {
  if (head->kind() == HeadConfig::LINEAR) {
    if (head->dropout_size() == 0) head->add_dropout(0);
    return;
  }
  if (head->hidden_features_size() == 0) head->add_hidden_features(512);
  if (head->dropout_size() == 0) {
    for (int i = 0; i < head->hidden_features_size(); ++i) head->add_dropout(0.25f);
    head->add_dropout(0.5f);
  }
}

void FillModelDefaults(ModelConfig* config) { FillHeadDefaults(config->mutable_head()); }

bool TorchvisionStem(const StemConfig& stem) {
  return stem.kernel_size() == 7 && stem.stride() == 2 && stem.max_pool();
}

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
  if (h.kind() == HeadConfig::LINEAR && h.hidden_features_size() > 0) {
    hp.Add("hidden_features", "must be empty for a LINEAR head (one Linear layer)");
  }
  const int linear = h.kind() == HeadConfig::LINEAR
                         ? 1
                         : (h.hidden_features_size() == 0 ? 1 : h.hidden_features_size()) + 1;
  if (h.dropout_size() != 0 && h.dropout_size() != linear) {
    hp.Add("dropout",
           absl::StrCat("needs one value per linear layer (", linear, "), got ", h.dropout_size()));
  }
  for (int i = 0; i < h.dropout_size(); ++i) {
    hp.Require(h.dropout(i) >= 0 && h.dropout(i) < 1, absl::StrCat("dropout[", i, "]"),
               "must be in [0, 1)", h.dropout(i));
  }
  const BodyShape& shape = m.shape();
  const base::ConfigProblems bp = p.In("shape");
  if (m.architecture() == kShapedResNet) {
    if (shape.widths_size() < 1 || shape.widths_size() > 4) {
      bp.Add("widths", absl::StrCat("architecture \"resnet\" needs 1 to 4 stage widths, got ",
                                    shape.widths_size()));
    } else if (shape.blocks_size() != shape.widths_size()) {
      bp.Add("blocks", absl::StrCat("needs one count per stage (", shape.widths_size(), "), got ",
                                    shape.blocks_size()));
    }
    for (int i = 0; i < shape.widths_size(); ++i) {
      bp.Require(shape.widths(i) > 0 && shape.widths(i) <= 4096, absl::StrCat("widths[", i, "]"),
                 "must be in [1, 4096]", shape.widths(i));
    }
    for (int i = 0; i < shape.blocks_size(); ++i) {
      bp.Require(shape.blocks(i) > 0 && shape.blocks(i) <= 64, absl::StrCat("blocks[", i, "]"),
                 "must be in [1, 64]", shape.blocks(i));
    }
    if (!m.pretrained_weights().empty()) {
      p.Add("pretrained_weights", "architecture \"resnet\" has no published weights");
    }
  } else if (shape.widths_size() > 0 || shape.blocks_size() > 0) {
    p.Add("shape", absl::StrCat("is for architecture \"resnet\" only; ", m.architecture(),
                                " has its own stages"));
  }
  p.Require(m.input_channels() == 1 || m.input_channels() == 3, "input_channels", "must be 1 or 3",
            m.input_channels());
  if (!m.pretrained_weights().empty() && m.input_channels() != 3) {
    p.Add("input_channels", "torchvision's weights read 3 channels");
  }
  const StemConfig& s = m.stem();
  const base::ConfigProblems sp = p.In("stem");
  sp.Require(s.kernel_size() == 3 || s.kernel_size() == 5 || s.kernel_size() == 7, "kernel_size",
             "must be 3, 5 or 7", s.kernel_size());
  sp.Require(s.stride() == 1 || s.stride() == 2, "stride", "must be 1 or 2", s.stride());
  if (s.whiten()) {
    sp.Require(s.whiten_images() >= 64 && s.whiten_images() <= 1000000, "whiten_images",
               "must be in [64, 1000000]", s.whiten_images());
    sp.Require(s.whiten_eps() > 0, "whiten_eps", "must be > 0", s.whiten_eps());
  }
  if (m.zero_init_residual() && !m.batch_norm_scale()) {
    p.Add("zero_init_residual",
          "needs batch_norm_scale (a BatchNorm weight fixed at 1 cannot start at 0)");
  }
  if (!m.pretrained_weights().empty() && (!TorchvisionStem(s) || s.whiten())) {
    p.Add("pretrained_weights",
          "torchvision's weights need torchvision's stem (model.stem { kernel_size: 7 stride: 2 "
          "max_pool: true }); train a small-input stem from scratch");
  }
}

}  // namespace malaria::models
