#include "experiments/trained_model.h"

#include <algorithm>
#include <filesystem>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "base/files.h"
#include "training/checkpoint.h"

namespace malaria::experiments {

absl::StatusOr<TrainedModel> LoadTrainedModel(const LoadedRun& run, const std::string& which) {
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
  for (int i = stages.size() - 1; i >= 0 && m.checkpoint.empty(); --i) {
    const std::string path =
        run.dir.File(absl::StrCat("checkpoints/", stages[i].name(), "_", which, ".pt"));
    if (base::PathExists(path)) m.checkpoint = path;
  }
  if (m.checkpoint.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(run.dir.path(), " has no '", which, "' checkpoint (no epoch completed?)"));
  }
  absl::StatusOr<models::Classifier> model =
      models::BuildClassifier(run.config.model(), static_cast<int>(m.classes.size()));
  if (!model.ok()) return model.status();
  m.model = *model;
  if (absl::Status s = training::LoadCheckpoint(m.checkpoint, m.model).status(); !s.ok()) return s;
  m.model->eval();
  return m;
}

evaluation::PredictionSet ToPredictionSet(const training::Predictions& p,
                                          const data::Dataset& dataset) {
  evaluation::PredictionSet set;
  set.num_classes = p.num_classes;
  set.probabilities = p.probabilities;
  set.labels = p.labels;
  set.losses = p.losses;
  set.mean_loss = p.mean_loss;
  const std::filesystem::path root(dataset.root);
  for (int index : p.indices) {
    const data::Example& e = dataset.examples[index];
    set.paths.push_back(std::filesystem::path(e.path).lexically_relative(root).string());
    set.groups.push_back(e.group);
  }
  return set;
}

absl::StatusOr<evaluation::PredictionSet> PredictAll(const TrainedModel& m,
                                                     const ExperimentConfig& config,
                                                     std::shared_ptr<data::ImageSource> source,
                                                     int tta_flips) {
  const data::DataConfig& d = config.data();
  data::LoaderOptions options;
  options.batch_size = d.batch_size();
  options.image_size = d.image_size();
  for (int c = 0; c < 3 && c < d.normalization().mean_size() && c < d.normalization().std_size();
       ++c) {
    options.mean[c] = d.normalization().mean(c);
    options.std[c] = d.normalization().std(c);
  }
  std::vector<int> all(source->dataset().examples.size());
  std::iota(all.begin(), all.end(), 0);
  data::BatchLoader loader(source, all, options);
  training::Learner::Options learner_options;
  learner_options.channels_last = config.training().channels_last();
  training::Learner learner(m.model, nullptr, nullptr, learner_options);
  absl::StatusOr<training::Predictions> predictions = learner.Predict(&loader, tta_flips);
  if (!predictions.ok()) return predictions.status();
  // Indices in the returned set follow the source's examples (the loader keeps their order).
  return ToPredictionSet(*predictions, source->dataset());
}

}  // namespace malaria::experiments
