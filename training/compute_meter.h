// Compute accounting, always on: the FLOPs a run spends, independent of the host's speed.
// Training counts 3 x the forward FLOPs of every batch trained (forward and backward, the
// convention of speed-run tables), the forward FLOPs per image counted once per input shape from
// the model as built (models::ForwardFlopsPerImage); the learning-rate finder's steps count as
// training. Validation counts apart, exactly, everything it runs: PreciseBN's batches, the
// validated model's and the raw weights' passes (models::FlopCounter). Each epoch's counts go to
// EpochResult::train_flops and eval_flops (the run's recorder keeps the running totals).
//
//   AddComputeMeter(config, context, &callbacks);   // first in the registry
#ifndef MALARIA_TRAINING_COMPUTE_METER_H_
#define MALARIA_TRAINING_COMPUTE_METER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "training/callback.h"
#include "training/training_config.pb.h"

namespace malaria::models {
class FlopCounter;
}

namespace malaria::training {

struct IngredientContext;  // training/ingredient.h

class ComputeMeter : public Callback {
 public:
  ComputeMeter();
  ~ComputeMeter() override;
  // OnForwardBegin (training steps only; prediction passes have no stage): 3 x the batch's
  // forward FLOPs, times the processes training together.
  absl::Status OnForwardBegin(FitState& state) override;
  // OnValidateBegin starts counting the validation (before PreciseBN, which comes later).
  absl::Status OnValidateBegin(FitState& state) override;
  // OnEpochEnd stops it and hands the epoch's counts to state.epoch_result.
  absl::Status OnEpochEnd(FitState& state) override;
  void OnFitEnd(FitState& state, const absl::Status& outcome) override;

  // The forward FLOPs per image of each input shape seen ({C,H,W} -> FLOPs).
  const std::map<std::vector<int64_t>, int64_t>& per_image() const { return per_image_; }

 private:
  std::map<std::vector<int64_t>, int64_t> per_image_;
  double train_flops_ = 0;  // since the last epoch's end
  std::unique_ptr<models::FlopCounter> validation_;
  int world_size_ = 1;
};

// AddComputeMeter adds the ComputeMeter (every run has one).
absl::Status AddComputeMeter(const TrainingConfig& config, const IngredientContext& context,
                             std::vector<std::unique_ptr<Callback>>* out);

}  // namespace malaria::training

#endif  // MALARIA_TRAINING_COMPUTE_METER_H_
