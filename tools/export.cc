// Takes a trained model out of the platform (issue 43):
//
//   bazel run //tools:export -- --run runs/out_of_fold/nih50_balanced_kfold --format pth
//       --out /tmp/balanced.pth
//
// pth: FILE.pth, every network's parameters and buffers as torch.save(state_dict) writes them
// (names: `body.` + torchvision's, `head.<i>.`; an ensemble's or k-fold model's under
// `members.<i>.`), and FILE.json beside it: the classes, the input's size and normalisation, each
// network's stem, blocks and head layers and temperature, the views averaged, the decision
// threshold and the diagnosis rule, where it came from. tools/malaria_torch.py loads both into
// PyTorch (docs/tools.md#export). The model is picked as evaluate and classify pick it (the run's
// final model with its calibration; --checkpoint, --stage, --tta, --calibration). onnx: not yet
// (a clear error). Neither file is written over an existing one; on an error neither is left.
// Exit status (base/main.h): 0 written, 2 bad input, 1 a failure after.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/flags.h"
#include "base/main.h"
#include "inference/export_pth.h"
#include "tools/model_flags.h"

namespace malaria {
namespace {

absl::StatusOr<int> Export(int argc, char** argv) {
  tools::ModelFlags model_flags;
  std::string format = "pth", out;
  base::FlagParser flags(
      "export --run RUN_DIR [--run RUN_DIR]... [--checkpoint best|last] [--stage NAME] "
      "[--tta 0-3] [--tta_shift 0-8] [--calibration=false] --format pth --out FILE.pth",
      "Writes a trained run's model (several --run, a folder of runs, or a k-fold model: each\n"
      "network) for PyTorch: FILE.pth (a state dict) and FILE.json (what rebuilding and using it\n"
      "needs; tools/malaria_torch.py loads both).");
  model_flags.Register(flags, "a run whose model is exported, or a folder of runs");
  flags.String("format", &format, "pth (PyTorch state dict and JSON); onnx is not yet written");
  flags.Path("out", &out, "the .pth file to write (its .json beside it); never overwritten");
  flags.Require({"run", "out"});
  absl::StatusOr<bool> go = flags.Parse(argc, argv);
  if (!go.ok()) return go.status();
  if (!*go) return base::kExitOk;
  if (format != "pth") {
    return absl::InvalidArgumentError(
        absl::StrCat("--format ", format, ": only pth is written so far (onnx is not yet)"));
  }
  absl::StatusOr<tools::LoadedModel> model = tools::LoadModel(model_flags, stderr);
  if (!model.ok()) return model.status();
  inference::ExportInfo info;
  info.classes = model->first().classes;
  info.positive = model->first().positive;
  info.calibration = model->calibration;
  for (const experiments::TrainedModel& m : model->ensemble.models) {
    info.sources.push_back(m.checkpoint);
  }
  info.data_fingerprint = model->first_run().info.dataset().fingerprint();
  if (absl::Status s = inference::ExportPth(model->predictor, info, out); !s.ok()) return s;
  absl::PrintF("wrote %s and %s.json (%d network%s)\n", out, out.substr(0, out.size() - 4),
               model->ensemble.models.size(), model->ensemble.models.size() == 1 ? "" : "s");
  return base::kExitOk;
}

}  // namespace
}  // namespace malaria

int main(int argc, char** argv) { return malaria::base::RunMain(argc, argv, malaria::Export); }
