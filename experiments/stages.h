// The runner's training steps: each stage (the weights it starts from, its learning-rate finder,
// its learning rates, its epochs, its evaluation), then the final model's evaluation.
//
//   TrainingRun r;
//   r.config = &config;  r.run = &run;  r.info = &info;  r.table = &table;  r.data = &data;
//   r.model = model;  r.learner = compute.learner;  r.callbacks = &compute.callbacks;
//   r.dist = dist;  r.out = stdout;                   // r.started: when this session began
//   RETURN_IF_ERROR(TrainStages(r, ResumePoint()));   // or from where a resumed run continues
#ifndef MALARIA_EXPERIMENTS_STAGES_H_
#define MALARIA_EXPERIMENTS_STAGES_H_

#include <chrono>
#include <cstdio>
#include <vector>

#include "absl/status/statusor.h"
#include "experiments/experiment.pb.h"
#include "experiments/resume_point.h"
#include "experiments/run_data.h"
#include "experiments/store/metrics_table.h"
#include "experiments/store/run_info.pb.h"
#include "experiments/store/tracker.h"
#include "models/classifier.h"
#include "training/learner.h"

namespace malaria::experiments {

// Everything the training of one run shares.
struct TrainingRun {
  const ExperimentConfig* config = nullptr;
  const RunDirectory* run = nullptr;
  RunInfo* info = nullptr;
  MetricsTable* table = nullptr;
  const RunData* data = nullptr;
  models::Classifier model{nullptr};
  training::Learner::Options learner;  // SetUpCompute's; TrainStages adds the checkpoints
  // training.precision resolved on this machine (SetUpCompute's): the final evaluation's
  // arithmetic.
  training::Precision precision = training::FLOAT32;
  // SetUpCompute's training ingredients: TrainStages moves them into the run's learner.
  training::TrainingCallbacks* callbacks = nullptr;
  // When this session of the run started: time to accuracy counts from it, after the run's
  // earlier sessions (info->duration_seconds).
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  training::Distributed* dist = nullptr;  // a data-parallel job, or nullptr
  std::FILE* out = stdout;
};

// StageLearningRates returns the maximum learning rate of each layer group for stage `index`:
// the learning-rate finder's suggestion (summary.lr_finder_suggestion) for every group with
// lr { auto: true }, else LayerGroupLrs of its lr. InvalidArgument naming training.stage[index].
absl::StatusOr<std::vector<double>> StageLearningRates(const training::StageConfig& stage,
                                                       int index, const StageSummary& summary);

// TrainStages runs the stages of r.config from `resume` on: each starts from the weights its
// start_from names (loaded from the previous stage's checkpoint when not in memory), runs the
// learning-rate finder when asked (lr_find, or lr { auto }; recorded in run_info and as
// lr_find_<stage>.csv/.png), fits its epochs (shown, recorded and checkpointed by rank 0), and is
// evaluated on the validation set into evaluation/<stage>/. Rank 0 then evaluates the final model
// (evaluation.final_model) into the run directory. An error stops training; the caller records it.
absl::Status TrainStages(const TrainingRun& r, const ResumePoint& resume);

}  // namespace malaria::experiments

#endif  // MALARIA_EXPERIMENTS_STAGES_H_
