// The learner's checkpoint callback (training/checkpoint.h's files), which Learner::Fit runs when
// Learner::Options::checkpoint_dir is set.
//
//   CheckpointSaver saver(dir, config_text);   // <dir>/<stage>_last.pt and _best.pt
#ifndef MALARIA_TRAINING_CHECKPOINT_SAVER_H_
#define MALARIA_TRAINING_CHECKPOINT_SAVER_H_

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "training/callback.h"

namespace malaria::training {

// After every epoch of a stage (OnEpochEnd) it writes <stage>_last.pt (the learner's validated
// model, the optimizer state and state.progress: what an exact resume needs; with a weight
// average, the raw weights too) and, when the epoch is the best so far, <stage>_best.pt (model and
// progress). Put it after the callbacks that record the epoch: a run killed in between then redoes
// that epoch on resume rather than losing its row.
class CheckpointSaver : public Callback {
 public:
  CheckpointSaver(std::string dir, std::string config_text)
      : dir_(std::move(dir)), config_text_(std::move(config_text)) {}
  absl::Status OnEpochEnd(FitState& state) override;

 private:
  std::string dir_;
  std::string config_text_;
};

}  // namespace malaria::training

#endif  // MALARIA_TRAINING_CHECKPOINT_SAVER_H_
