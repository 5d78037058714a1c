// Classifies cell images with a trained run's model: what a lab would use.
//
//   bazel run //tools:classify -- --run runs/resnet34_two_stage/20261125-225154 cell1.png cell2.png
//
// Prints one line per image: the path, the predicted class and the probability of the positive
// class (evaluation.positive_class, Parasitized):
//   cell1.png	Parasitized	P(Parasitized)=0.9731
// Unreadable images are reported by name and skipped; the exit status is then 1.
// Flags: --checkpoint best|last (default best), --tta 0|1|2 (flip averaging).
#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "experiments/run_reader.h"
#include "experiments/trained_model.h"
#include "glog/logging.h"
#include "base/files.h"

namespace malaria {
namespace {

constexpr char kUsage[] =
    "usage: classify --run RUN_DIR [--checkpoint best|last] [--tta 0|1|2] IMAGE...\n";

int Classify(int argc, char** argv) {
  std::string run_dir, which = "best";
  int tta = 0;
  std::vector<std::string> images;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--run" || arg == "--checkpoint" || arg == "--tta") {
      if (i + 1 >= argc) {
        absl::FPrintF(stderr, "%s needs a value\n%s", arg, kUsage);
        return 2;
      }
      const std::string value = argv[++i];
      if (arg == "--run") run_dir = base::ResolveUserPath(value);
      if (arg == "--checkpoint") which = value;
      if (arg == "--tta" && (!absl::SimpleAtoi(value, &tta) || tta < 0 || tta > 2)) {
        absl::FPrintF(stderr, "--tta must be 0, 1 or 2\n");
        return 2;
      }
    } else if (arg.rfind("--", 0) == 0) {
      absl::FPrintF(stderr, "unknown flag %s\n%s", arg, kUsage);
      return 2;
    } else {
      images.push_back(base::ResolveUserPath(arg));
    }
  }
  if (run_dir.empty() || images.empty()) {
    absl::FPrintF(stderr, "--run and at least one image are required\n%s", kUsage);
    return 2;
  }
  at::set_num_threads(std::max(1u, std::thread::hardware_concurrency()));
  absl::StatusOr<experiments::LoadedRun> run = experiments::LoadRun(run_dir);
  if (!run.ok()) {
    absl::FPrintF(stderr, "ERROR: %s\n", run.status().message());
    return 2;
  }
  absl::StatusOr<experiments::TrainedModel> trained = experiments::LoadTrainedModel(*run, which);
  if (!trained.ok()) {
    absl::FPrintF(stderr, "ERROR: %s\n", trained.status().message());
    return 2;
  }
  // The images as an unlabelled dataset (labels are placeholders and unused).
  data::Dataset dataset;
  dataset.root = "/";
  dataset.classes = trained->classes;
  for (const std::string& path : images) dataset.examples.push_back({path, 0, ""});
  std::vector<data::BadImage> bad;
  auto source = std::make_shared<data::ImageSource>(
      data::ImageSource::Load(dataset, run->config.data().image_size(), 0, int64_t{1} << 30, &bad));
  for (const data::BadImage& b : bad) absl::FPrintF(stderr, "ERROR: %s\n", b.error);
  if (!source->dataset().examples.empty()) {
    absl::StatusOr<evaluation::PredictionSet> predictions =
        experiments::PredictAll(*trained, run->config, source, tta);
    if (!predictions.ok()) {
      absl::FPrintF(stderr, "ERROR: %s\n", predictions.status().message());
      return 2;
    }
    const std::string& positive = trained->classes[trained->positive];
    for (int i = 0; i < predictions->size(); ++i) {
      absl::PrintF("%s\t%s\tP(%s)=%.4f\n", source->dataset().examples[i].path,
                   trained->classes[predictions->Predicted(i)], positive,
                   predictions->Row(i)[trained->positive]);
    }
  }
  return bad.empty() ? 0 : 1;
}

}  // namespace
}  // namespace malaria

int main(int argc, char** argv) {
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  return malaria::Classify(argc, argv);
}
