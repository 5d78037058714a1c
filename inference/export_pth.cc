#include "inference/export_pth.h"

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/pooling.h>

#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "base/files.h"
#include "evaluation/tta_setting.h"
#include "google/protobuf/text_format.h"
#include "models/pth_writer.h"
#include "models/resnet.h"
#include "models/sync_batch_norm.h"
#include "nlohmann/json.hpp"

namespace malaria::inference {
namespace {

using json = nlohmann::json;

// A member's network as tools/malaria_torch.py rebuilds it.
json NetworkJson(const Member& m) {
  models::Classifier model = m.model;  // the holder, shared
  const models::ModelConfig& config = model->config();
  std::string config_text;
  google::protobuf::TextFormat::PrintToString(config, &config_text);
  torch::nn::Sequential layer1 = model->body->layer1;
  const bool bottleneck =
      layer1->size() > 0 && layer1->ptr(0)->as<models::BottleneckImpl>() != nullptr;
  return json{{"architecture", config.architecture()},
              {"model_config", config_text},
              {"stem",
               {{"stride", model->body->conv1->options.stride()->at(0)},
                {"max_pool", !model->body->maxpool.is_empty()}}},
              {"block", bottleneck ? "bottleneck" : "basic"},
              {"head", HeadLayerKinds(model)}};
}

}  // namespace

std::vector<std::string> HeadLayerKinds(const models::Classifier& model) {
  std::vector<std::string> kinds;
  for (const auto& layer : model->head->children()) {
    if (layer->as<models::AdaptiveConcatPool2dImpl>() != nullptr) {
      kinds.push_back("concat_pool");
    } else if (layer->as<torch::nn::AdaptiveAvgPool2dImpl>() != nullptr) {
      kinds.push_back("avg_pool");
    } else if (layer->as<models::FlattenImpl>() != nullptr) {
      kinds.push_back("flatten");
    } else if (layer->as<models::SyncBatchNormImpl>() != nullptr) {
      kinds.push_back("batch_norm");
    } else if (const auto* dropout = layer->as<torch::nn::DropoutImpl>(); dropout != nullptr) {
      kinds.push_back(absl::StrCat("dropout:", dropout->options.p()));
    } else if (layer->as<torch::nn::LinearImpl>() != nullptr) {
      kinds.push_back("linear");
    } else if (layer->as<torch::nn::ReLUImpl>() != nullptr) {
      kinds.push_back("relu");
    } else {
      kinds.push_back(absl::StrCat("unknown:", layer->name()));
    }
  }
  return kinds;
}

absl::Status ExportPth(const Predictor& predictor, const ExportInfo& info,
                       const std::string& path) {
  if (!absl::EndsWith(path, ".pth")) {
    return absl::InvalidArgumentError(absl::StrCat("--out ", path, ": a .pth file name"));
  }
  const std::string json_path = absl::StrCat(absl::StripSuffix(path, ".pth"), ".json");
  for (const std::string& p : {path, json_path}) {
    if (base::PathExists(p)) {
      return absl::AlreadyExistsError(absl::StrCat(p, " exists: not overwritten"));
    }
  }
  const std::vector<Member>& members = predictor.members();
  if (members.empty()) return absl::InvalidArgumentError("a predictor without models");
  models::NamedTensors tensors;
  json networks = json::array();
  for (size_t i = 0; i < members.size(); ++i) {
    const Member& m = members[i];
    for (const std::string& kind : HeadLayerKinds(m.model)) {
      if (absl::StartsWith(kind, "unknown:")) {
        return absl::UnimplementedError(
            absl::StrCat("the head layer ", kind.substr(8), " has no PyTorch export"));
      }
    }
    const std::string prefix = members.size() == 1 ? "" : absl::StrCat("members.", i, ".");
    for (auto& [name, tensor] : models::StateDict(*m.model)) {
      // Float32 weights and statistics (a model trained in bfloat16 keeps float32 weights too);
      // BatchNorm's batch counters stay integers.
      tensors.emplace_back(prefix + name,
                           tensor.is_floating_point() ? tensor.to(torch::kFloat) : tensor);
    }
    json network = NetworkJson(m);
    network["prefix"] = prefix;
    network["temperature"] = m.temperature ? json(*m.temperature) : json(nullptr);
    network["source"] = i < info.sources.size() ? info.sources[i] : "";
    networks.push_back(network);
  }
  const Member& first = members[0];
  json meta = {
      {"format", "malaria-platform pth 1"},
      {"load", "tools/malaria_torch.py: nets, meta = malaria_torch.load(PTH)"},
      {"classes", info.classes},
      {"positive_class", info.classes.empty() ? "" : info.classes[info.positive]},
      {"input",
       {{"size", first.input.image_size},
        {"channels", 3},
        {"pixels", "RGB, resized to size x size, (pixel / 255 - mean) / std per channel"},
        {"mean", first.input.mean},
        {"std", first.input.std}}},
      {"networks", networks},
      {"views", evaluation::TtaClause(predictor.tta())},
      {"ensemble", "each network's softmax (over the views, then at its temperature) averaged"},
      {"decision_threshold",
       predictor.decision() ? json(predictor.decision()->threshold) : json(nullptr)},
      {"data_fingerprint", info.data_fingerprint}};
  if (info.calibration) {
    const evaluation::Calibration& c = *info.calibration;
    meta["diagnosis_rule"] = {{"patient_threshold", c.patient_threshold()},
                              {"patient_min_cells", c.patient_min_cells()},
                              {"sensitivity", c.sensitivity()},
                              {"specificity", c.specificity()}};
  } else {
    meta["diagnosis_rule"] = nullptr;
  }
  if (absl::Status s = models::WriteStateDict(path, tensors); !s.ok()) return s;
  if (absl::Status s = base::WriteFileAtomically(json_path, meta.dump(2) + "\n"); !s.ok()) {
    std::error_code ec;
    std::filesystem::remove(path, ec);
    return s;
  }
  return absl::OkStatus();
}

}  // namespace malaria::inference
