#include "experiments/trained_model.h"

#include <algorithm>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/files.h"
#include "data/data_config.h"
#include "training/checkpoint.h"

namespace malaria::experiments {

absl::StatusOr<TrainedModel> LoadTrainedModel(const LoadedRun& run, const std::string& which,
                                              const std::string& stage) {
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

absl::StatusOr<evaluation::PredictionSet> PredictAll(const TrainedModel& m,
                                                     const ExperimentConfig& config,
                                                     std::shared_ptr<data::ImageSource> source,
                                                     int tta_flips) {
  absl::StatusOr<data::LoaderOptions> options = data::BuildLoaderOptions(
      config.data(), data::LoaderRole::kEvaluation, config.seed(), /*default_threads=*/0);
  if (!options.ok()) return options.status();
  std::vector<int> all(source->dataset().examples.size());
  std::iota(all.begin(), all.end(), 0);
  data::BatchLoader loader(source, all, *options);
  training::Learner::Options learner_options;
  learner_options.channels_last = config.training().channels_last();
  training::Learner learner(m.model, nullptr, nullptr, learner_options);
  absl::StatusOr<training::Predictions> predictions = learner.Predict(&loader, tta_flips);
  if (!predictions.ok()) return predictions.status();
  // Indices in the returned set follow the source's examples (the loader keeps their order).
  return ToPredictionSet(*predictions, source->dataset());
}

}  // namespace malaria::experiments
