// Evaluates a trained run's model on any NIH-layout folder, for example patients it has never seen,
// and writes metrics and pictures to a new folder inside the run (never over anything):
//
//   bazel run //tools:evaluate -- --run runs/resnet34_two_stage/20261125-225154
//       --data /data/new_patients [--checkpoint best|last] [--stage NAME] [--tta 0-3] [--tta_shift
//       0-8]
//       [--calibration=false] [--strict]
//
// Output: <run>/evaluations/<UTC time>[-N]/ with metrics.pbtxt, confusion_matrix.{csv,png},
// roc.png, top_losses.png, most_confused.txt, patients.csv, predictions.csv and
// evaluation_info.pbtxt (what it was computed from). --tta averages the probabilities over
// horizontal (1) and vertical (2) flips, or all eight flips and rotations (3). By default the model
// is the run's own final model (evaluation.final_model: the checkpoint it evaluated and calibrated)
// with its calibration; --checkpoint and --stage pick another, and the tool says which checkpoint
// and which calibration it used. Exit status (base/main.h): 0 done, 2 bad input found before
// anything was written (the message says what), 1 a failure after.

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "base/files.h"
#include "base/flags.h"
#include "base/main.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "evaluation/calibration.h"
#include "evaluation/intervals.h"
#include "evaluation/metrics.h"
#include "evaluation/report_writer.h"
#include "evaluation/tta_setting.h"
#include "experiments/store/run_reader.h"
#include "experiments/trained_model.h"
#include "glog/logging.h"
#include "google/protobuf/text_format.h"
#include "inference/heatmaps.h"
#include "inference/predictor.h"
#include "tools/model_flags.h"

namespace malaria {
namespace {

using tools::LoadedModel;
using tools::LoadModel;
using tools::ModelFlags;

// evaluate --versus: the other model's predictions on the same cells.
struct Versus {
  experiments::Ensemble ensemble;
  evaluation::PredictionSet predictions;
  std::optional<evaluation::Calibration> calibration;
};

// PredictVersus loads the model at `paths` (its own final model, views and calibration) and
// predicts the cells of `source` (read at `main`'s size), read again at its own image size when
// that differs. InvalidArgument when it has other classes than `main`.
absl::StatusOr<Versus> PredictVersus(const std::vector<std::string>& paths,
                                     const experiments::TrainedModel& main,
                                     std::shared_ptr<data::ImageSource> source, bool calibrate) {
  ModelFlags flags;  // its own final model and views
  flags.runs = paths;
  flags.calibrate = calibrate;
  absl::StatusOr<LoadedModel> model = LoadModel(flags, stdout, "Versus");
  if (!model.ok()) return model.status();
  if (model->first().classes != main.classes) {
    return absl::InvalidArgumentError(
        absl::StrCat("--versus: its classes (", absl::StrJoin(model->first().classes, ", "),
                     ") differ from --run's (", absl::StrJoin(main.classes, ", "), ")"));
  }
  const int size = model->first_run().config.data().image_size();
  if (size != source->short_side()) {
    std::vector<data::BadImage> bad;
    source = std::make_shared<data::ImageSource>(
        data::ImageSource::Load(source->dataset(), size, 0, int64_t{4} << 30, &bad));
    if (!bad.empty()) {
      return absl::DataLossError(absl::StrCat("--versus: ", bad[0].error, " at ", size, " px"));
    }
  }
  absl::StatusOr<evaluation::PredictionSet> p = model->predictor.Predict(source);
  if (!p.ok()) return p.status();
  Versus v;
  v.predictions = *std::move(p);
  v.calibration = model->calibration;
  v.ensemble = std::move(model->ensemble);
  return v;
}

absl::StatusOr<int> Evaluate(int argc, char** argv) {
  ModelFlags model_flags;
  std::vector<std::string> versus_dirs;
  std::string data_dir;
  bool strict = false;
  base::FlagParser flags(
      "evaluate --run RUN_DIR [--run RUN_DIR]... --data DIR [--checkpoint best|last] "
      "[--stage NAME] [--tta 0-3] [--tta_shift 0-8] [--calibration=false] [--strict]",
      "Evaluates a trained run's model on an NIH-layout folder (new patients, say) into a new\n"
      "folder RUN_DIR/evaluations/<UTC time>/. Several --run (or a folder of runs, such as the\n"
      "folds of a k-fold experiment) evaluate their ensemble (probabilities averaged) into\n"
      "<first run's experiment folder>/ensemble_evaluations/<UTC time>/.");
  model_flags.Register(flags, "a run whose model is evaluated, or a folder of runs");
  flags.Paths("versus", &versus_dirs,
              "another model (a run, a folder of runs, a k-fold model; its own final model and "
              "views) judged on the same cells: --run's metrics minus its, with the paired "
              "patient-bootstrap interval");
  flags.Path("data", &data_dir, "NIH-layout folder of labelled images");
  flags.Bool("strict", &strict, "stop at an unreadable image instead of skipping it");
  flags.Require({"run", "data"});
  absl::StatusOr<bool> go = flags.Parse(argc, argv);
  if (!go.ok()) return go.status();
  if (!*go) return base::kExitOk;

  absl::StatusOr<LoadedModel> model = LoadModel(model_flags, stdout);
  if (!model.ok()) return model.status();
  const bool calibrate = model_flags.calibrate;
  absl::StatusOr<data::Dataset> dataset = data::ScanImageFolder(data_dir);
  if (!dataset.ok()) return dataset.status();
  if (dataset->classes != model->first().classes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the classes of ", data_dir, " (", absl::StrJoin(dataset->classes, ", "),
        ") differ from the model's (", absl::StrJoin(model->first().classes, ", "), ")"));
  }
  const experiments::ExperimentConfig& config = model->first_run().config;
  std::vector<data::BadImage> bad;
  auto source = std::make_shared<data::ImageSource>(
      data::ImageSource::Load(*dataset, config.data().image_size(), 0, int64_t{4} << 30, &bad));
  for (const data::BadImage& b : bad) LOG(WARNING) << "skipping unreadable image: " << b.error;
  if (!bad.empty() && strict) {
    return absl::DataLossError(
        absl::StrCat(bad.size(), " unreadable image(s) and --strict; the first: ", bad[0].error));
  }
  if (source->dataset().examples.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(data_dir, " has no readable images"));
  }

  const std::optional<evaluation::Calibration>& calibration = model->calibration;
  absl::StatusOr<evaluation::PredictionSet> predictions = model->predictor.Predict(source);
  if (!predictions.ok()) return predictions.status();
  // The model it is paired with, on the same cells, before anything is written.
  std::optional<Versus> versus;
  if (!versus_dirs.empty()) {
    absl::StatusOr<Versus> v = PredictVersus(versus_dirs, model->first(), source, calibrate);
    if (!v.ok()) return v.status();
    versus = *std::move(v);
  }

  // A new folder inside the run (an ensemble's: beside its first run; a k-fold model's: inside
  // its folder); never an existing one.
  const bool several = model->ensemble.runs.size() > 1;
  absl::StatusOr<experiments::RunDirectory> out =
      model->ensemble.kfold
          ? experiments::RunDirectory::Create(model->ensemble.kfold->folder, "evaluations")
      : several ? experiments::RunDirectory::Create(
                      std::filesystem::path(model->first_run().dir.path()).parent_path().string(),
                      "ensemble_evaluations")
                : experiments::RunDirectory::Create(model->first_run().dir.path(), "evaluations");
  if (!out.ok()) return out.status();
  // The top losses with every member's heatmap, averaged (evaluation.heatmap of the first run).
  absl::StatusOr<evaluation::ClassificationReport> report = evaluation::WriteReport(
      out->path(), *predictions, model->first().classes, model->first().positive,
      config.evaluation(),
      inference::WithHeatmaps([&](int i) { return source->Get(i); }, predictions->labels,
                              config.evaluation().heatmap() ? model->predictor.members()
                                                            : std::vector<inference::Member>()),
      calibration ? &*calibration : nullptr);
  if (!report.ok()) return base::AfterWriting(report.status());
  evaluation::EvaluationRecord record;
  record.set_run_dir(model->ensemble.kfold ? model->ensemble.kfold->folder
                                           : model->first_run().dir.path());
  record.set_checkpoint(model->first().checkpoint);
  if (several) {
    for (const experiments::TrainedModel& m : model->ensemble.models) {
      record.add_ensemble_checkpoints(m.checkpoint);
    }
  }
  record.set_data_path(data_dir);
  record.set_data_fingerprint(data::Fingerprint(source->dataset()));
  record.set_images(source->dataset().examples.size());
  record.set_unreadable_images(bad.size());
  record.set_tta_flips(model->tta.flips);
  if (model->tta.shift_px > 0) record.set_tta_shift_px(model->tta.shift_px);
  if (calibration) *record.mutable_calibration() = *calibration;
  std::optional<evaluation::MetricIntervals> difference;
  if (versus) {
    for (const experiments::TrainedModel& m : versus->ensemble.models) {
      record.add_versus_checkpoints(m.checkpoint);
    }
    *record.mutable_versus_report() = evaluation::Evaluate(
        versus->predictions, model->first().classes, model->first().positive, config.evaluation());
    evaluation::BootstrapOptions options;
    if (config.evaluation().bootstrap_replicates() > 0) {
      options.replicates = config.evaluation().bootstrap_replicates();
    }
    options.seed = config.evaluation().bootstrap_seed();
    absl::StatusOr<evaluation::MetricIntervals> d = evaluation::PairedDifference(
        *predictions, versus->predictions, model->first().positive, options);
    if (!d.ok()) return base::AfterWriting(d.status());
    difference = *d;
    *record.mutable_versus_difference() = evaluation::IntervalsToProto(*d, options);
  }
  record.set_time(experiments::IsoTime(std::time(nullptr)));
  for (int i = 0; i < argc; ++i) record.add_command_line(argv[i]);
  std::string text;
  google::protobuf::TextFormat::PrintToString(record, &text);
  if (absl::Status s = out->WriteFile("evaluation_info.pbtxt", text); !s.ok()) {
    return base::AfterWriting(s);
  }

  absl::PrintF(
      "%d images of %s (%d unreadable skipped) with %s%s:\n"
      "  accuracy %.4f, sensitivity %s, specificity %s, ROC AUC %.4f, ECE %.4f\n"
      "  %d false negatives, %d false positives",
      source->dataset().examples.size(), data_dir, bad.size(),
      model->ensemble.kfold ? absl::StrCat("the k-fold model (", model->ensemble.models.size(),
                                           " fold models averaged)")
      : several ? absl::StrCat("an ensemble of ", model->ensemble.models.size(), " models")
                : model->first().checkpoint,
      evaluation::TtaClause(model->tta), report->accuracy(),
      evaluation::RateText(report->true_positives() + report->false_negatives() > 0,
                           report->sensitivity(), 4, "no parasitized cells"),
      evaluation::RateText(report->true_negatives() + report->false_positives() > 0,
                           report->specificity(), 4, "no uninfected cells"),
      report->roc_auc(), report->expected_calibration_error(), report->false_negatives(),
      report->false_positives());
  if (calibration && model->ensemble.kfold) {
    absl::PrintF(
        "\n  calibrated on %d patients' out-of-fold predictions (temperature %.3f for each fold "
        "model, threshold %.3f)",
        calibration->fitted_patients(), calibration->temperature(), calibration->threshold());
  } else if (calibration) {
    absl::PrintF("\n  calibrated on %s (temperature %.3f, threshold %.3f)",
                 several ? "the runs' validation sets" : "the run's validation set",
                 several ? 1.0 : calibration->temperature(), calibration->threshold());
  }
  if (report->has_parasitemia()) {
    const evaluation::ParasitemiaSummary& p = report->parasitemia();
    absl::PrintF(
        "\n  %d patients: parasitemia error %.4f (mean absolute); diagnosed infected at an "
        "estimated fraction >= %.3f: accuracy %.4f, sensitivity %s, specificity %s",
        p.patients(), p.mean_absolute_error(), p.diagnosis_threshold(), p.diagnosis_accuracy(),
        evaluation::RateText(p.has_diagnosis_sensitivity(), p.diagnosis_sensitivity(), 3,
                             "no infected patients"),
        evaluation::RateText(p.has_diagnosis_specificity(), p.diagnosis_specificity(), 3,
                             "no uninfected patients"));
  } else if (report->has_patients()) {
    absl::PrintF("; %d patients, diagnosis accuracy %.4f", report->patients().patients(),
                 report->patients().diagnosis_accuracy());
  }
  if (report->has_intervals()) {
    absl::PrintF("\n  %s", evaluation::PatientIntervalsText(report->intervals()));
  }
  if (versus) {
    absl::PrintF("\n  versus %s: accuracy %.4f, ROC AUC %.4f",
                 versus->ensemble.kfold ? versus->ensemble.kfold->folder
                 : versus->ensemble.runs.size() > 1
                     ? absl::StrCat("an ensemble of ", versus->ensemble.runs.size(), " models")
                     : versus->ensemble.models[0].checkpoint,
                 record.versus_report().accuracy(), record.versus_report().roc_auc());
    absl::PrintF(
        "\n  paired on the same %d cells, resampling the %d patients together, this "
        "model minus that one: %s",
        predictions->size(), difference->units, evaluation::DifferenceText(*difference));
  }
  absl::PrintF("\nWritten to %s\n", out->path());
  return base::kExitOk;
}

}  // namespace
}  // namespace malaria

int main(int argc, char** argv) { return malaria::base::RunMain(argc, argv, malaria::Evaluate); }
