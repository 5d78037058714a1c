#include "training/checkpoint_saver.h"

#include "training/checkpoint.h"
#include "training/learner.h"

namespace malaria::training {

absl::Status CheckpointSaver::OnEpochEnd(FitState& state) {
  if (state.finder) return absl::OkStatus();
  const std::string& stage = state.stage->name();
  models::Classifier model = state.learner->validated_model();
  models::Classifier raw = state.learner->model();
  if (raw.get() == model.get()) raw = models::Classifier(nullptr);
  if (absl::Status s = SaveCheckpoint(CheckpointPath(dir_, stage, "last"), model, config_text_,
                                      state.optimizer, state.progress, raw);
      !s.ok()) {
    return s;
  }
  if (state.epoch_result != nullptr && state.epoch_result->is_best) {
    return SaveCheckpoint(CheckpointPath(dir_, stage, "best"), model, config_text_, nullptr,
                          state.progress);
  }
  return absl::OkStatus();
}

}  // namespace malaria::training
