// Checkpoints of our own: the model's parameters and buffers, optionally the optimizer's state,
// where training stood (TrainingProgress, for an exact resume) and the config that made them, in
// one file written atomically (LibTorch's archive format). training/checkpoint_saver.h writes
// them as a stage trains.
//
//   RETURN_IF_ERROR(SaveCheckpoint(path, model, config_text, &optimizer, progress));
//   absl::StatusOr<CheckpointInfo> info = LoadCheckpoint(path, model, &optimizer);
//   // FailedPrecondition, naming both, when the file holds another architecture.
#ifndef MALARIA_TRAINING_CHECKPOINT_H_
#define MALARIA_TRAINING_CHECKPOINT_H_

#include <torch/optim/optimizer.h>

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "models/classifier.h"
#include "training/callback.h"

namespace malaria::training {

// What a checkpoint records besides the tensors.
struct CheckpointInfo {
  std::string architecture;
  std::string config_text;  // the resolved experiment config of the run that wrote it
  bool has_optimizer = false;
  TrainingProgress progress;
};

// SaveCheckpoint writes `model` (and `optimizer`'s state when not null), the progress and
// `config_text` to `path` atomically. `model` is the model to evaluate; with a weight average it
// is the average, and `raw_model` (the weights the optimizer steps) goes beside it.
absl::Status SaveCheckpoint(const std::string& path, models::Classifier model,
                            const std::string& config_text,
                            const torch::optim::Optimizer* optimizer,
                            const TrainingProgress& progress,
                            models::Classifier raw_model = models::Classifier(nullptr));

// LoadCheckpoint reads `path` into `model`, into `optimizer` when not null (the file must then
// hold optimizer state for the same parameter groups) and its raw weights into `raw_model` when
// not empty (the file must hold them). NotFound for a missing file, FailedPrecondition naming
// both architectures for another architecture, DataLoss naming the file when it cannot be read.
absl::StatusOr<CheckpointInfo> LoadCheckpoint(
    const std::string& path, models::Classifier model, torch::optim::Optimizer* optimizer = nullptr,
    models::Classifier raw_model = models::Classifier(nullptr));

// ReadCheckpointInfo returns what LoadCheckpoint would, without loading any tensor anywhere.
absl::StatusOr<CheckpointInfo> ReadCheckpointInfo(const std::string& path);

// CheckpointPath returns <dir>/<stage>_<which>.pt, where `which` is "last" or "best".
std::string CheckpointPath(const std::string& dir, const std::string& stage,
                           const std::string& which);

}  // namespace malaria::training

#endif  // MALARIA_TRAINING_CHECKPOINT_H_
