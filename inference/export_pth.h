// A predictor's networks taken to PyTorch: each member's parameters and buffers in a `.pth` state
// dict (torch.save's format, models/pth_writer.h) and, beside it, a JSON file with what PyTorch
// needs to rebuild and use them (tools/malaria_torch.py reads both):
//
//   ExportInfo info;  // classes, the calibration, where the model came from
//   RETURN_IF_ERROR(ExportPth(predictor, info, "/tmp/model.pth"));  // + /tmp/model.json
//
// Names: the Classifier's own, `body.` + torchvision's (`body.layer1.0.conv1.weight`) and
// `head.<i>.` for the head's layers in order; with several members (an ensemble, a k-fold model)
// each under `members.<i>.`. The JSON: the classes and positive class, the input (size, channels,
// normalisation), each member's network (its stem's stride and max-pool, block kind, the head's
// layers in order) and temperature, the views averaged, the decision threshold and the diagnosis
// rule, and the provenance.
#ifndef MALARIA_INFERENCE_EXPORT_PTH_H_
#define MALARIA_INFERENCE_EXPORT_PTH_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "evaluation/report.pb.h"
#include "inference/predictor.h"

namespace malaria::inference {

// What the exported files say besides the networks.
struct ExportInfo {
  std::vector<std::string> classes;
  int positive = 0;
  // The calibration the predictor decides with (its threshold and diagnosis rule), if any.
  std::optional<evaluation::Calibration> calibration;
  // One per member: where it came from (a run directory and checkpoint, say).
  std::vector<std::string> sources;
  std::string data_fingerprint;  // of the data the model trained on
};

// HeadLayerKinds names the layers of `model`'s head in order: "concat_pool", "avg_pool",
// "flatten", "batch_norm", "dropout:<p>", "linear", "relu".
std::vector<std::string> HeadLayerKinds(const models::Classifier& model);

// ExportPth writes `predictor`'s networks to `path` (a .pth state dict, float32) and their
// description to `path` with .json for .pth. Refuses (AlreadyExists) when either file exists,
// InvalidArgument when `path` does not end in .pth; on any error neither file is left.
absl::Status ExportPth(const Predictor& predictor, const ExportInfo& info, const std::string& path);

}  // namespace malaria::inference

#endif  // MALARIA_INFERENCE_EXPORT_PTH_H_
