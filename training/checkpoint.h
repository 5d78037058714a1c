// Checkpoints of our own: the model's parameters and buffers, optionally the optimizer's state,
// where training stood (for an exact resume) and the config that made them, in one file written
// atomically (LibTorch's archive format).
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

namespace malaria::training {

// Where training stood when the checkpoint was written.
struct TrainingProgress {
  int stage_index = 0;
  int epochs_completed = 0;   // of that stage
  double smooth_mov_avg = 0;  // the smoothed training loss's state
  int64_t smooth_count = 0;
  double best_value = 0;  // of the monitored metric, this stage
  int best_epoch = 0;
};

struct CheckpointInfo {
  std::string architecture;
  std::string config_text;  // the resolved experiment config of the run that wrote it
  bool has_optimizer = false;
  TrainingProgress progress;
};

// SaveCheckpoint writes `model` (and `optimizer`'s state when not null), the progress and
// `config_text` to `path` atomically.
absl::Status SaveCheckpoint(const std::string& path, models::Classifier model,
                            const std::string& config_text,
                            const torch::optim::Optimizer* optimizer,
                            const TrainingProgress& progress);

// LoadCheckpoint reads `path` into `model`, and into `optimizer` when not null (the file must then
// hold optimizer state for the same parameter groups). NotFound for a missing file,
// FailedPrecondition naming both architectures for another architecture, DataLoss naming the file
// when it cannot be read.
absl::StatusOr<CheckpointInfo> LoadCheckpoint(const std::string& path, models::Classifier model,
                                              torch::optim::Optimizer* optimizer = nullptr);

// ReadCheckpointInfo returns what LoadCheckpoint would, without loading any tensor anywhere.
absl::StatusOr<CheckpointInfo> ReadCheckpointInfo(const std::string& path);

}  // namespace malaria::training

#endif  // MALARIA_TRAINING_CHECKPOINT_H_
