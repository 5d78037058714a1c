#include "experiments/trained_model.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "base/files.h"
#include "base/text_proto.h"
#include "data/data_config.h"
#include "evaluation/calibration.h"
#include "training/checkpoint.h"
#include "training/precision.h"

namespace malaria::experiments {

absl::StatusOr<TrainedModel> LoadTrainedModel(const LoadedRun& run, const std::string& given,
                                              const std::string& stage) {
  const bool final_kind =
      run.config.evaluation().final_model() == evaluation::EvaluationConfig::BEST;
  const std::string which = !given.empty() ? given : final_kind ? "best" : "last";
  if (which != "best" && which != "last") {
    return absl::InvalidArgumentError(
        absl::StrCat("checkpoint must be 'best' or 'last', got '", which, "'"));
  }
  if (absl::Status s = RequireNotRunning(run); !s.ok()) return s;
  TrainedModel m;
  m.classes.assign(run.info.dataset().classes().begin(), run.info.dataset().classes().end());
  if (m.classes.size() < 2) {
    return absl::FailedPreconditionError(
        absl::StrCat(run.dir.path(), ": run_info.pbtxt records no dataset classes"));
  }
  const auto positive =
      std::find(m.classes.begin(), m.classes.end(), run.config.evaluation().positive_class());
  m.positive = positive == m.classes.end() ? 0 : static_cast<int>(positive - m.classes.begin());

  const auto& stages = run.config.training().stage();
  const std::string checkpoints = run.dir.File("checkpoints");
  std::vector<std::string> names, with_checkpoint;
  for (const auto& s : stages) {
    names.push_back(s.name());
    if (base::PathExists(training::CheckpointPath(checkpoints, s.name(), which))) {
      with_checkpoint.push_back(s.name());
    }
  }
  if (names.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(run.dir.path(), " has no stages"));
  }
  if (!stage.empty() && std::find(names.begin(), names.end(), stage) == names.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("stage '", stage, "' is not a stage of ", run.dir.path(),
                     " (its stages: ", absl::StrJoin(names, ", "), ")"));
  }
  const std::string chosen = stage.empty() ? names.back() : stage;
  m.checkpoint = training::CheckpointPath(checkpoints, chosen, which);
  if (given.empty() && stage.empty()) {
    m.origin = absl::StrCat(
        "the run's final model: evaluation.final_model ",
        evaluation::EvaluationConfig::FinalModel_Name(run.config.evaluation().final_model()),
        " of stage '", chosen, "'");
  } else {
    m.origin =
        absl::StrCat("the ", which == "best" ? "best" : "last", " epoch of stage '", chosen, "'",
                     given.empty() ? "" : " (--checkpoint)", stage.empty() ? "" : " (--stage)");
  }
  if (!base::PathExists(m.checkpoint)) {
    std::string advice;
    if (stage.empty() && !with_checkpoint.empty()) {
      advice = absl::StrCat("; to use another stage's model, name it with --stage (stages with a '",
                            which, "' checkpoint: ", absl::StrJoin(with_checkpoint, ", "), ")");
    }
    const std::string kind = stage.empty() ? "final model's checkpoint" : "checkpoint";
    return absl::NotFoundError(absl::StrCat(run.dir.path(), " is ",
                                            RunInfo::Status_Name(run.info.status()), " but its ",
                                            kind, " ", m.checkpoint, " is missing", advice));
  }
  absl::StatusOr<models::Classifier> model =
      models::BuildClassifier(run.config.model(), static_cast<int>(m.classes.size()));
  if (!model.ok()) return model.status();
  m.model = *model;
  if (absl::Status s = training::LoadCheckpoint(m.checkpoint, m.model).status(); !s.ok()) return s;
  m.model->eval();
  return m;
}

absl::StatusOr<std::optional<evaluation::Calibration>> LoadCalibration(const LoadedRun& run,
                                                                       const TrainedModel& model) {
  const std::string path = run.dir.File("calibration.pbtxt");
  if (!base::PathExists(path)) return std::nullopt;
  absl::StatusOr<std::string> text = base::ReadFile(path);
  if (!text.ok()) return text.status();
  evaluation::Calibration calibration;
  if (absl::Status parsed = base::ParseTextProto(*text, path, &calibration); !parsed.ok()) {
    return absl::DataLossError(
        absl::StrCat(path, " is not a readable calibration: ", parsed.message()));
  }
  if (calibration.checkpoint() != model.checkpoint) return std::nullopt;
  return calibration;
}

std::string DescribeModel(const LoadedRun& run, const TrainedModel& model,
                          const std::optional<evaluation::Calibration>& calibration,
                          bool calibrate) {
  std::string calibrated;
  if (!calibrate) {
    calibrated = "none (--calibration=false)";
  } else if (calibration.has_value()) {
    calibrated =
        absl::StrFormat("%s (temperature %.3f, threshold %.3f)", run.dir.File("calibration.pbtxt"),
                        calibration->temperature(), calibration->threshold());
  } else if (base::PathExists(run.dir.File("calibration.pbtxt"))) {
    calibrated = "none (the run's calibration.pbtxt is for another checkpoint)";
  } else {
    calibrated = "none (the run has no calibration.pbtxt)";
  }
  return absl::StrCat("checkpoint ", model.checkpoint, " (", model.origin, "); calibration ",
                      calibrated);
}

namespace {

// What the members trained in reduced precision predict with here (MemberOf's choice), one line
// per arithmetic they trained in (members resumed on another kind of host may differ).
void PrintArithmetic(const Ensemble& e, std::FILE* out) {
  std::map<training::Precision, int> members;
  for (const LoadedRun& run : e.runs) ++members[TrainedPrecision(run)];
  const bool units = training::CpuHasBfloat16Units();
  for (const auto& [trained, count] : members) {
    if (trained == training::FLOAT32) continue;
    const bool reduced = training::CpuInferencePrecision(trained, units) != training::FLOAT32;
    absl::FPrintF(out, "  %strained in %s; predicting in %s\n",
                  members.size() > 1 ? absl::StrFormat("%d of %d models ", count, e.runs.size())
                                     : std::string(),
                  training::Precision_Name(trained),
                  reduced ? "bfloat16 autocast, as its run evaluated"
                  : trained != training::FLOAT16
                      ? "float32 (this CPU has no bfloat16 units: its predictions may differ "
                        "slightly from its run's)"
                      : "float32 on the CPU");
  }
}

}  // namespace

void PrintModels(const Ensemble& e, bool calibrate, std::FILE* out, const char* label) {
  if (e.kfold) {
    const evaluation::Calibration& c = e.kfold->calibration;
    absl::FPrintF(out,
                  "%s: the k-fold model %s (experiment %s): its %d fold models' probabilities "
                  "averaged; calibration %s\n",
                  label, e.kfold->folder, e.kfold->model.experiment(), e.runs.size(),
                  calibrate
                      ? absl::StrFormat("%s/calibration.pbtxt, fitted on %d patients' "
                                        "out-of-fold predictions (temperature %.3f, "
                                        "threshold %.3f; diagnosis: estimated fraction >= "
                                        "%.4f and >= %d cells)",
                                        e.kfold->folder, c.fitted_patients(), c.temperature(),
                                        c.threshold(), c.patient_threshold(), c.patient_min_cells())
                      : std::string("none (--calibration=false)"));
    for (size_t m = 0; m < e.runs.size(); ++m) {
      absl::FPrintF(out, "  fold model %d: checkpoint %s (%s)\n", m + 1, e.models[m].checkpoint,
                    e.models[m].origin);
    }
    PrintArithmetic(e, out);
    return;
  }
  for (size_t m = 0; m < e.runs.size(); ++m) {
    absl::FPrintF(out, "%s%s: %s\n", label, e.runs.size() > 1 ? absl::StrCat(" ", m + 1) : "",
                  DescribeModel(e.runs[m], e.models[m], e.calibrations[m], calibrate));
  }
  PrintArithmetic(e, out);
}

namespace {

// OK when `model` (of the run at `dir`) has the classes of `e`'s first member, or is the first;
// otherwise InvalidArgument "<members> disagree on the classes: <dir> has A, <first's> has B".
absl::Status SameClasses(const Ensemble& e, const std::string& members, const std::string& dir,
                         const TrainedModel& model) {
  if (e.models.empty() || model.classes == e.models[0].classes) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      members, " disagree on the classes: ", dir, " has ", absl::StrJoin(model.classes, ", "), ", ",
      e.runs[0].dir.path(), " has ", absl::StrJoin(e.models[0].classes, ", ")));
}

// LoadEnsemble for a k-fold job's model at `paths` (one folder with model.pbtxt).
absl::StatusOr<Ensemble> LoadKFoldModel(const std::vector<std::string>& paths,
                                        const std::string& which, const std::string& stage) {
  if (paths.size() != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--run: a k-fold model (a folder with model.pbtxt) is used alone, not with other runs: ",
        absl::StrJoin(paths, ", ")));
  }
  if (!which.empty() || !stage.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--checkpoint and --stage pick a checkpoint of a run; ", paths[0],
        " is a k-fold model, its folds' final models with the rules fitted for them (give the "
        "fold runs themselves to pick another checkpoint)"));
  }
  absl::StatusOr<KeptKFoldModel> kept = ReadKFoldModel(paths[0]);
  if (!kept.ok()) return kept.status();
  Ensemble e;
  for (size_t f = 0; f < kept->run_dirs.size(); ++f) {
    const std::string& dir = kept->run_dirs[f];
    absl::StatusOr<LoadedRun> run = LoadRun(dir);
    if (!run.ok()) return run.status();
    if (run->info.status() != RunInfo::COMPLETED) {
      return absl::FailedPreconditionError(
          absl::StrCat(paths[0], "/model.pbtxt: runs[", f, "]: ", dir, " is ",
                       RunInfo::Status_Name(run->info.status()), ", not COMPLETED"));
    }
    if (!kept->model.data_fingerprint().empty() &&
        run->info.dataset().fingerprint() != kept->model.data_fingerprint()) {
      return absl::FailedPreconditionError(absl::StrCat(
          paths[0], "/model.pbtxt: runs[", f, "]: ", dir,
          " was trained on other data than the model's (fingerprint ",
          run->info.dataset().fingerprint(), ", not ", kept->model.data_fingerprint(), ")"));
    }
    absl::StatusOr<TrainedModel> model = LoadTrainedModel(*run, "", "");
    if (!model.ok()) return model.status();
    if (absl::Status s = SameClasses(e, absl::StrCat("the fold models of ", paths[0]), dir, *model);
        !s.ok()) {
      return s;
    }
    e.runs.push_back(*std::move(run));
    e.models.push_back(*std::move(model));
    e.calibrations.push_back(kept->calibration);
  }
  e.kfold = *std::move(kept);
  return e;
}

}  // namespace

absl::StatusOr<Ensemble> LoadEnsemble(const std::vector<std::string>& paths,
                                      const std::string& which, const std::string& stage) {
  Ensemble e;
  for (const std::string& path : paths) {
    if (base::IsDirectory(path) && IsKFoldModel(path)) return LoadKFoldModel(paths, which, stage);
  }
  for (const std::string& path : paths) {
    if (!base::IsDirectory(path)) {
      return absl::NotFoundError(absl::StrCat("--run: ", path, " is not a run directory"));
    }
    const std::vector<std::string> found = FindRuns(path);
    const bool is_run = found.size() == 1 && found[0] == path;
    for (const std::string& dir : found) {
      absl::StatusOr<LoadedRun> run = LoadRun(dir);
      if (!run.ok()) {
        if (is_run) return run.status();
        continue;  // in a folder of runs, only the completed ones join
      }
      if (!is_run && run->info.status() != RunInfo::COMPLETED) continue;
      absl::StatusOr<TrainedModel> model = LoadTrainedModel(*run, which, stage);
      if (!model.ok()) return model.status();
      absl::StatusOr<std::optional<evaluation::Calibration>> calibration =
          LoadCalibration(*run, *model);
      if (!calibration.ok()) return calibration.status();
      if (!e.runs.empty()) {
        const LoadedRun& first = e.runs[0];
        if (absl::Status s = SameClasses(e, "ensemble members", run->dir.path(), *model); !s.ok()) {
          return s;
        }
        if (run->config.data().image_size() != first.config.data().image_size()) {
          return absl::InvalidArgumentError(
              absl::StrCat("ensemble members need one image size: ", run->dir.path(),
                           " was trained at ", run->config.data().image_size(), " px, ",
                           first.dir.path(), " at ", first.config.data().image_size(), " px"));
        }
      }
      e.runs.push_back(*std::move(run));
      e.models.push_back(*std::move(model));
      e.calibrations.push_back(*std::move(calibration));
    }
  }
  if (e.runs.empty()) {
    return absl::NotFoundError(absl::StrCat("no COMPLETED run at ", absl::StrJoin(paths, ", ")));
  }
  return e;
}

absl::StatusOr<inference::Predictor> BuildPredictor(const Ensemble& e, const evaluation::Tta& tta,
                                                    bool calibrate,
                                                    std::optional<evaluation::Calibration>* used) {
  bool calibrated = calibrate;
  for (const auto& c : e.calibrations) calibrated &= c.has_value();
  std::vector<inference::Member> members;
  std::vector<evaluation::Calibration> calibrations;
  for (size_t m = 0; m < e.models.size(); ++m) {
    absl::StatusOr<inference::Member> member = MemberOf(e.models[m], e.runs[m]);
    if (!member.ok()) return member.status();
    if (calibrated) {
      calibrations.push_back(*e.calibrations[m]);
      member->temperature = calibrations.back().temperature();
    }
    members.push_back(*std::move(member));
  }
  *used = std::nullopt;
  std::optional<inference::Decision> decision;
  if (calibrated) {
    evaluation::Calibration combined = e.kfold ? e.kfold->calibration
                                       : calibrations.size() == 1
                                           ? calibrations[0]
                                           : evaluation::CombineCalibrations(calibrations);
    decision = inference::Decision{e.models[0].positive, combined.threshold()};
    *used = combined;
  }
  return inference::Predictor(std::move(members), tta, decision);
}

training::Precision TrainedPrecision(const LoadedRun& run) {
  training::Precision recorded;
  if (training::Precision_Parse(run.info.precision(), &recorded)) return recorded;
  return run.config.training().precision();
}

absl::StatusOr<inference::Member> MemberOf(const TrainedModel& m, const LoadedRun& run) {
  const ExperimentConfig& config = run.config;
  absl::StatusOr<data::LoaderOptions> input = data::BuildLoaderOptions(
      config.data(), data::LoaderRole::kEvaluation, config.seed(), /*default_threads=*/0);
  if (!input.ok()) return input.status();
  inference::Member member;
  member.model = m.model;
  member.input = *input;
  member.compute.channels_last = config.training().channels_last();
  // A model trained in bfloat16 predicts in it where this CPU can (its run evaluated so).
  if (training::CpuInferencePrecision(TrainedPrecision(run), training::CpuHasBfloat16Units()) ==
      training::BFLOAT16) {
    member.compute.autocast = torch::kBFloat16;
  }
  return member;
}

}  // namespace malaria::experiments
