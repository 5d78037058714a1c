// The rules of training_config.proto, beside it (no LibTorch: config validation uses them). Its
// builders sit with what they build: BuildSchedule (training/schedule.h), BuildLearnerOptions
// (training/learner.h), BuildCallbacks (training/ingredients.h) and each ingredient's own.
//
//   RETURN_IF_ERROR(UpgradeTrainingConfig(&config));           // the deprecated spellings
//   ValidateTrainingConfig(config, problems.In("training"));  // "training.stage[0].epochs: ..."
#ifndef MALARIA_TRAINING_TRAINING_CONFIG_H_
#define MALARIA_TRAINING_TRAINING_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "base/problems.h"
#include "training/training_config.pb.h"

namespace malaria::training {

// UpgradeTrainingConfig reads the deprecated spellings of `config` into their fields and clears
// them: monitor ("accuracy", "valid_loss") into best_epoch_by, label_smoothing into
// loss.label_smoothing, mixup_alpha into mixup.alpha, ema_decay into weight_average.decay,
// precise_bn_batches into precise_bn.batches. Configs and runs written before those fields had
// their own messages read as they always did. InvalidArgument naming the field for a monitor it
// does not know, or when a config sets both spellings (`field` and its message's field) to
// different values.
absl::Status UpgradeTrainingConfig(TrainingConfig* config);

// ValidateTrainingConfig adds to `problems` every rule `config` breaks: at least one stage, stage
// names valid and distinct, positive epochs, learning rates as LayerGroupLrs accepts them,
// freeze_to within the model's layer groups, one-cycle, optimizer and finder settings in range, a
// smoothing beta in [0, 1), a positive bucket size, each ingredient's settings in range, and no
// mixed precision on a run that names the CPU. These are every rule the training builders
// (BuildSchedule, BuildCallbacks, ...) would refuse, but for what only the machine knows (mixed
// precision with DEVICE_AUTO where no GPU is found): validate_config, sweeps and runs check the
// same.
void ValidateTrainingConfig(const TrainingConfig& config, const base::ConfigProblems& problems);

// ValidateLookahead: steps >= 0, alpha in (0, 1] (AddLookahead refuses the same).
void ValidateLookahead(const LookaheadConfig& config, const base::ConfigProblems& problems);

// ValidName reports whether `name` may name a stage or an experiment (it becomes part of file and
// folder names): letters, digits, '.', '_' and '-', not "." or "..".
bool ValidName(const std::string& name);

}  // namespace malaria::training

#endif  // MALARIA_TRAINING_TRAINING_CONFIG_H_
