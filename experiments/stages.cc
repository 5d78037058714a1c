#include "experiments/stages.h"

#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "base/files.h"
#include "data/data_config.h"
#include "evaluation/calibration.h"
#include "evaluation/intervals.h"
#include "evaluation/metrics.h"
#include "evaluation/report_writer.h"
#include "evaluation/tta_setting.h"
#include "experiments/config.h"
#include "experiments/run_model.h"
#include "experiments/run_recorder.h"
#include "inference/heatmaps.h"
#include "inference/predictions.h"
#include "inference/predictor.h"
#include "models/architectures.h"
#include "training/checkpoint.h"
#include "training/checkpoint_saver.h"
#include "training/distributed.h"
#include "training/ingredients.h"
#include "training/progress.h"
#include "training/schedule.h"

namespace malaria::experiments {
namespace {

bool IsPrimary(const training::Distributed* dist) { return dist == nullptr || dist->is_primary(); }

std::string FormatLrs(const std::vector<double>& lrs) {
  std::vector<std::string> parts;
  for (double lr : lrs) parts.push_back(absl::StrFormat("%.3g", lr));
  return absl::StrJoin(parts, ", ");
}

// The loaders of a run: training (this rank's shard, augmented), validation (this rank's share)
// and all of validation (the final evaluation, on rank 0).
struct Loaders {
  std::unique_ptr<data::BatchLoader> train, valid, all_valid;
};

absl::StatusOr<Loaders> MakeLoaders(const TrainingRun& r) {
  const int threads = CoresPerProcess(r.dist);
  absl::StatusOr<data::LoaderOptions> train = data::BuildLoaderOptions(
      r.config->data(), data::LoaderRole::kTraining, r.config->seed(), threads);
  if (!train.ok()) return train.status();
  absl::StatusOr<data::LoaderOptions> valid = data::BuildLoaderOptions(
      r.config->data(), data::LoaderRole::kEvaluation, r.config->seed(), threads);
  if (!valid.ok()) return valid.status();
  Loaders l;
  l.all_valid = std::make_unique<data::BatchLoader>(r.data->source, r.data->split.valid, *valid);
  if (r.dist != nullptr) {
    for (data::LoaderOptions* o : {&*train, &*valid}) {
      o->rank = r.dist->rank();
      o->world_size = r.dist->world_size();
    }
  }
  l.train = std::make_unique<data::BatchLoader>(r.data->source, r.data->split.train, *train);
  l.valid = std::make_unique<data::BatchLoader>(r.data->source, r.data->split.valid, *valid);
  return l;
}

// `model` as a predictor's member for the run's validation images: evaluated as data.* says,
// on the run's device, in its layout and its arithmetic (training.precision as resolved here).
absl::StatusOr<inference::Member> RunMember(const TrainingRun& r, models::Classifier model) {
  absl::StatusOr<data::LoaderOptions> input = data::BuildLoaderOptions(
      r.config->data(), data::LoaderRole::kEvaluation, r.config->seed(), CoresPerProcess(r.dist));
  if (!input.ok()) return input.status();
  inference::Member m;
  m.model = std::move(model);
  m.input = *input;
  m.compute.device = r.learner.device;
  m.compute.channels_last = r.learner.channels_last;
  m.compute.autocast = r.precision == training::FLOAT16    ? torch::kHalf
                       : r.precision == training::BFLOAT16 ? torch::kBFloat16
                                                           : torch::kFloat;
  return m;
}

// The images of `set`, predictions on the validation split in its order (that loader never
// shuffles), with `model`'s heatmaps over them (evaluation.heatmap).
evaluation::ImageOf ValidationImages(const TrainingRun& r, const evaluation::PredictionSet& set,
                                     models::Classifier model) {
  evaluation::ImageOf images = [&r](int i) { return r.data->source->Get(r.data->split.valid[i]); };
  if (!r.config->evaluation().heatmap()) return images;
  absl::StatusOr<inference::Member> member = RunMember(r, std::move(model));
  if (!member.ok()) {
    return [problem = member.status()](int) -> absl::StatusOr<cv::Mat> { return problem; };
  }
  return inference::WithHeatmaps(std::move(images), set.labels, {*std::move(member)});
}

// Loads the weights stage `i` starts from when they are not the ones in memory: the previous
// stage's best epoch (start_from PREVIOUS_BEST), or its last epoch after a resume. Other ranks get
// rank 0's when the stage starts.
absl::Status LoadStartingWeights(const TrainingRun& r, training::Learner& learner, int i,
                                 const ResumePoint& resume) {
  const auto& stages = r.config->training().stage();
  const training::StageConfig& stage = stages[i];
  const bool continuing = i == resume.stage && resume.epochs_completed > 0;
  const bool from_best = stage.start_from() == training::StageConfig::PREVIOUS_BEST;
  if (!IsPrimary(r.dist) || i == 0 || continuing || !(from_best || i == resume.stage)) {
    return absl::OkStatus();
  }
  const std::string from = training::CheckpointPath(
      r.run->File("checkpoints"), stages[i - 1].name(), from_best ? "best" : "last");
  if (absl::Status s = training::LoadCheckpoint(from, learner.model()).status(); !s.ok()) return s;
  absl::FPrintF(r.out, "\n%s starts from %s\n", stage.name(), from);
  return absl::OkStatus();
}

// Runs stage `i`'s learning-rate finder when it asks for one and has not had it (a resumed stage
// keeps its suggestion), recording the curve and the suggestion.
absl::Status FindStageLr(const TrainingRun& r, training::Learner& learner, int i, bool continuing) {
  const training::StageConfig& stage = r.config->training().stage(i);
  StageSummary* summary = r.info->mutable_stage(i);
  if (!(stage.lr_find() || stage.lr().has_auto_()) ||
      (continuing && summary->has_lr_finder_suggestion())) {
    return absl::OkStatus();
  }
  absl::FPrintF(r.out, "\n%s: learning-rate finder (%g to %g over %d iterations)\n", stage.name(),
                stage.lr_finder().start_lr(), stage.lr_finder().end_lr(),
                stage.lr_finder().num_iterations());
  absl::StatusOr<training::LrFinderResult> found = learner.FindLr(stage, i);
  if (!found.ok()) return found.status();
  const double suggestion =
      stage.lr_finder().suggestion() == training::LrFinderConfig::MINIMUM_DIV_10
          ? found->suggestion_min_div_10
          : found->suggestion_steepest;
  summary->set_lr_finder_suggestion(suggestion);
  if (IsPrimary(r.dist)) {
    if (absl::Status s = RecordLrFinder(*r.run, stage.name(), *found, suggestion); !s.ok()) {
      return s;
    }
  }
  absl::FPrintF(r.out, "suggested learning rate: %.3g (steepest descent), %.3g (minimum / 10)\n",
                found->suggestion_steepest, found->suggestion_min_div_10);
  return absl::OkStatus();
}

// Stage `i`: its starting weights, learning rates, epochs and evaluation.
absl::Status RunStage(const TrainingRun& r, training::Learner& learner,
                      training::ProgressPrinter& printer,
                      const std::vector<training::Callback*>& callbacks, int i,
                      const ResumePoint& resume) {
  const training::StageConfig& stage = r.config->training().stage(i);
  const bool continuing = i == resume.stage && resume.epochs_completed > 0;
  while (r.info->stage_size() <= i) {
    const std::string& name = r.config->training().stage(r.info->stage_size()).name();
    r.info->add_stage()->set_name(name);
  }
  if (absl::Status s = LoadStartingWeights(r, learner, i, resume); !s.ok()) return s;
  if (absl::Status s = FindStageLr(r, learner, i, continuing); !s.ok()) return s;
  StageSummary* summary = r.info->mutable_stage(i);
  absl::StatusOr<std::vector<double>> lrs = StageLearningRates(stage, i, *summary);
  if (!lrs.ok()) return lrs.status();
  summary->clear_max_lr();
  for (double lr : *lrs) summary->add_max_lr(lr);
  if (IsPrimary(r.dist)) {
    if (absl::Status s = WriteRunInfo(*r.run, *r.info); !s.ok()) return s;
  }

  printer.StageHeader(absl::StrFormat(
      "%s: %d epochs, freeze_to %d%s, max lr per layer group [%s]%s", stage.name(), stage.epochs(),
      stage.freeze_to(), stage.freeze_to() != 0 && stage.train_bn() ? " (BatchNorm trains)" : "",
      FormatLrs(*lrs),
      continuing ? absl::StrFormat(", resumed after epoch %d", resume.epochs_completed) : ""));
  absl::StatusOr<training::StageResult> result =
      learner.Fit(stage, i, *lrs, callbacks, continuing ? resume.checkpoint : "");
  if (!result.ok()) return result.status();
  // The stage's model (its last epoch) judged on the validation set, with pictures.
  if (!IsPrimary(r.dist) || result->epochs.empty()) return absl::OkStatus();
  const evaluation::PredictionSet set =
      inference::ToPredictionSet(result->epochs.back().valid, r.data->source->dataset());
  return evaluation::WriteReport(r.run->File(absl::StrCat("evaluation/", stage.name())), set,
                                 r.data->classes, r.data->positive, r.config->evaluation(),
                                 ValidationImages(r, set, learner.model()))
      .status();
}

// The final model (evaluation.final_model) on all of the validation set, into the run directory.
absl::Status EvaluateFinalModel(const TrainingRun& r, training::Learner& learner,
                                data::BatchLoader& all_valid, const ResumePoint& resume) {
  const auto& stages = r.config->training().stage();
  const std::string& last_stage = stages[stages.size() - 1].name();
  const std::string checkpoints = r.run->File("checkpoints");
  std::string which = "the last epoch";
  if (r.config->evaluation().final_model() == evaluation::EvaluationConfig::BEST) {
    const std::string best = training::CheckpointPath(checkpoints, last_stage, "best");
    if (absl::Status s = training::LoadCheckpoint(best, learner.model()).status(); !s.ok()) {
      return s;
    }
    which = absl::StrCat("the best epoch of ", last_stage);
  } else if (resume.stage >= stages.size()) {
    // Every epoch was done before the resume: the model in memory is not the trained one.
    const std::string last = training::CheckpointPath(checkpoints, last_stage, "last");
    if (absl::Status s = training::LoadCheckpoint(last, learner.model()).status(); !s.ok()) {
      return s;
    }
  }
  // Predicted as evaluate and classify predict it: the run's inference::Predictor, its views.
  absl::StatusOr<inference::Member> member = RunMember(r, learner.model());
  if (!member.ok()) return member.status();
  absl::StatusOr<inference::Predictions> predictions = inference::Predictor::PredictLoader(
      *member, evaluation::TtaFromConfig(r.config->evaluation()), &all_valid);
  if (!predictions.ok()) return predictions.status();
  const evaluation::PredictionSet set =
      inference::ToPredictionSet(*predictions, r.data->source->dataset());
  absl::StatusOr<evaluation::ClassificationReport> report =
      evaluation::WriteReport(r.run->path(), set, r.data->classes, r.data->positive,
                              r.config->evaluation(), ValidationImages(r, set, learner.model()));
  if (!report.ok()) return report.status();
  // The final model's calibration, fitted on these validation images, for evaluate and classify;
  // and what it gives here (in-sample) in calibrated/.
  // A run's few validation patients fit the temperature, not a threshold or a diagnosis rule
  // (those come from a k-fold job's out-of-fold predictions of every patient).
  evaluation::CalibrationPolicy policy;
  policy.fixed_patient_fraction = r.config->evaluation().patient_positive_fraction();
  policy.fixed_patient_min_cells = r.config->evaluation().patient_min_cells();
  policy.bootstrap.seed = r.config->evaluation().bootstrap_seed();
  evaluation::Calibration calibration =
      evaluation::Calibrate(set, r.data->classes, r.data->positive, policy);
  calibration.set_checkpoint(r.config->evaluation().final_model() ==
                                     evaluation::EvaluationConfig::BEST
                                 ? training::CheckpointPath(checkpoints, last_stage, "best")
                                 : training::CheckpointPath(checkpoints, last_stage, "last"));
  if (absl::Status s = r.run->WriteProto("calibration.pbtxt", calibration); !s.ok()) return s;
  absl::StatusOr<evaluation::ClassificationReport> calibrated = evaluation::WriteReport(
      r.run->File("calibrated"), evaluation::ApplyCalibration(set, calibration, r.data->positive),
      r.data->classes, r.data->positive, r.config->evaluation(),
      ValidationImages(r, set, learner.model()), &calibration);
  if (!calibrated.ok()) return calibrated.status();
  absl::FPrintF(r.out,
                "\nFinal model (%s%s) on %d validation images: accuracy %.4f, sensitivity %.4f, "
                "specificity %.4f, ROC AUC %.4f, %d false negatives, %d false positives\n"
                "Confusion matrix (rows actual, columns predicted):\n%s",
                which, evaluation::TtaClause(evaluation::TtaFromConfig(r.config->evaluation())),
                report->examples(), report->accuracy(), report->sensitivity(),
                report->specificity(), report->roc_auc(), report->false_negatives(),
                report->false_positives(), evaluation::ConfusionMatrixCsv(*report));
  if (report->has_intervals()) {
    absl::FPrintF(r.out, "For new patients, %s\n",
                  evaluation::PatientIntervalsText(report->intervals()));
  }
  absl::FPrintF(r.out,
                "Calibrated on these images (calibration.pbtxt): temperature %.3f, threshold %.3f "
                "(accuracy %.4f -> %.4f, ECE %.4f -> %.4f)\n  threshold: %s\n  diagnosis: %s\n",
                calibration.temperature(), calibration.threshold(), calibration.accuracy_before(),
                calibration.accuracy_after(), calibration.ece_before(), calibration.ece_after(),
                calibration.threshold_note(), calibration.patient_rule_note());
  if (calibrated->has_parasitemia()) {
    const evaluation::ParasitemiaSummary& p = calibrated->parasitemia();
    absl::FPrintF(r.out,
                  "Patients: parasitemia error %.4f (mean absolute, %d patients); diagnosed "
                  "infected at an estimated fraction >= %.4f and >= %d cells: sensitivity %s, "
                  "specificity %s\n",
                  p.mean_absolute_error(), p.patients(), p.diagnosis_threshold(),
                  calibration.patient_min_cells(),
                  evaluation::RateText(p.has_diagnosis_sensitivity(), p.diagnosis_sensitivity(), 3,
                                       "no infected patients"),
                  evaluation::RateText(p.has_diagnosis_specificity(), p.diagnosis_specificity(), 3,
                                       "no uninfected patients"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<double>> StageLearningRates(const training::StageConfig& stage,
                                                       int index, const StageSummary& summary) {
  if (stage.lr().has_auto_()) {
    if (!summary.has_lr_finder_suggestion()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "training.stage[", index, "].lr.auto: the learning-rate finder has not run"));
    }
    return std::vector<double>(models::kNumLayerGroups, summary.lr_finder_suggestion());
  }
  absl::StatusOr<std::vector<double>> lrs =
      training::LayerGroupLrs(stage.lr(), models::kNumLayerGroups);
  if (!lrs.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("training.stage[", index, "].", lrs.status().message()));
  }
  return lrs;
}

absl::Status TrainStages(const TrainingRun& r, const ResumePoint& resume) {
  absl::StatusOr<Loaders> loaders = MakeLoaders(r);
  if (!loaders.ok()) return loaders.status();
  const bool primary = IsPrimary(r.dist);
  training::Learner::Options options = r.learner;
  const std::string config_text = ToText(*r.config);
  options.config_text = config_text;
  if (r.callbacks == nullptr) return absl::InternalError("TrainStages: no training ingredients");
  training::Learner learner(r.model, loaders->train.get(), loaders->valid.get(), options,
                            std::move(*r.callbacks));
  training::ProgressPrinter printer(r.out);
  RunRecorder recorder(*r.run, r.info, r.table, &printer, r.data->classes, r.data->positive,
                       r.data->source->dataset(), r.config->evaluation(), r.started);
  // Rank 0 records each epoch, saves its checkpoints, then records that they are on disk; the
  // other ranks only show their progress (in their log).
  std::unique_ptr<training::CheckpointSaver> saver;
  std::vector<training::Callback*> callbacks = {&printer};
  if (primary) {
    const std::string checkpoints = r.run->File("checkpoints");
    if (absl::Status s = base::MakeDirs(checkpoints); !s.ok()) return s;
    saver = std::make_unique<training::CheckpointSaver>(checkpoints, config_text);
    callbacks = {&recorder, saver.get(), recorder.DurableEpochs()};
  }
  for (int i = resume.stage; i < r.config->training().stage_size(); ++i) {
    if (absl::Status s = RunStage(r, learner, printer, callbacks, i, resume); !s.ok()) return s;
  }
  if (!primary) return absl::OkStatus();
  return EvaluateFinalModel(r, learner, *loaders->all_valid, resume);
}

}  // namespace malaria::experiments
