// The rules of training_config.proto, beside it (no LibTorch: config validation uses them). Its
// builders sit with what they build: BuildSchedule (training/schedule.h), BuildLearnerOptions
// (training/learner.h), BuildMonitor here.
//
//   ValidateTrainingConfig(config, problems.In("training"));  // "training.stage[0].epochs: ..."
//   absl::StatusOr<Monitor> monitor = BuildMonitor(config.monitor());
#ifndef MALARIA_TRAINING_TRAINING_CONFIG_H_
#define MALARIA_TRAINING_TRAINING_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "base/problems.h"
#include "training/training_config.pb.h"

namespace malaria::training {

// The validation metric that picks a stage's best epoch (training.monitor).
enum class Monitor {
  kAccuracy,   // higher is better
  kValidLoss,  // lower is better
};

// BuildMonitor returns the metric `name` ("accuracy" or "valid_loss") names; InvalidArgument naming
// training.monitor otherwise.
absl::StatusOr<Monitor> BuildMonitor(const std::string& name);

// ValidateTrainingConfig adds to `problems` every rule `config` breaks: at least one stage, stage
// names valid and distinct, positive epochs, learning rates as LayerGroupLrs accepts them,
// freeze_to within the model's layer groups, one-cycle, optimizer and finder settings in range, a
// known monitor, a smoothing beta in [0, 1), a positive bucket size.
void ValidateTrainingConfig(const TrainingConfig& config, const base::ConfigProblems& problems);

// ValidName reports whether `name` may name a stage or an experiment (it becomes part of file and
// folder names): letters, digits, '.', '_' and '-', not "." or "..".
bool ValidName(const std::string& name);

}  // namespace malaria::training

#endif  // MALARIA_TRAINING_TRAINING_CONFIG_H_
