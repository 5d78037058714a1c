// The trained model of a run, loaded from its checkpoints, for evaluating and classifying.
//
//   absl::StatusOr<TrainedModel> m = LoadTrainedModel(run, "best");
//   m->model, m->checkpoint, m->classes, m->positive
#ifndef MALARIA_EXPERIMENTS_TRAINED_MODEL_H_
#define MALARIA_EXPERIMENTS_TRAINED_MODEL_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "evaluation/predictions.h"
#include "experiments/run_reader.h"
#include "models/classifier.h"
#include "training/learner.h"

namespace malaria::experiments {

struct TrainedModel {
  models::Classifier model{nullptr};
  std::string checkpoint;            // the file it was loaded from
  std::vector<std::string> classes;  // as the model was trained
  int positive = 0;                  // index of evaluation.positive_class
};

// LoadTrainedModel builds the run's architecture and loads checkpoint `which` ("best" or "last") of
// the last stage that has one. FailedPrecondition for a RUNNING run or a run without checkpoints;
// InvalidArgument for another `which`.
absl::StatusOr<TrainedModel> LoadTrainedModel(const LoadedRun& run, const std::string& which);

// ToPredictionSet converts the learner's predictions, adding each example's path (relative to the
// data root) and patient from `dataset`.
evaluation::PredictionSet ToPredictionSet(const training::Predictions& predictions,
                                          const data::Dataset& dataset);

// PredictAll predicts every image of `source` with `model` (sized and normalised as the run's
// config says), averaging over `tta_flips` flips (0, 1 or 2).
absl::StatusOr<evaluation::PredictionSet> PredictAll(const TrainedModel& model,
                                                     const ExperimentConfig& config,
                                                     std::shared_ptr<data::ImageSource> source,
                                                     int tta_flips);

}  // namespace malaria::experiments

#endif  // MALARIA_EXPERIMENTS_TRAINED_MODEL_H_
