#include "training/precise_bn.h"

#include <torch/torch.h>

#include "data/random.h"
#include "training/ingredient.h"
#include "training/learner.h"

namespace malaria::training {

absl::Status PreciseBatchNorm::OnValidateBegin(FitState& state) {
  if (state.finder) return absl::OkStatus();
  Learner& learner = *state.learner;
  data::BatchLoader* train = learner.train_loader();
  train->StartEpoch(data::EpochKey(data::kPreciseBnStream, state.stage_index, state.epoch),
                    /*image_size=*/0, /*pass=*/state.epoch);
  absl::Status failed;
  models::RecomputeBatchNormStatistics(
      *learner.validated_model(),
      [&]() -> torch::Tensor {
        data::Batch batch;
        absl::StatusOr<bool> more = train->Next(&batch);
        if (!more.ok()) failed = more.status();
        if (!more.ok() || !*more) return torch::Tensor();
        return learner.Inputs(batch).images.clone();  // the batch's buffer goes with it
      },
      batches_);
  return failed;
}

absl::Status AddPreciseBn(const TrainingConfig& config, const IngredientContext& context,
                          std::vector<std::unique_ptr<Callback>>* out) {
  if (config.precise_bn().batches() > 0) {
    out->push_back(std::make_unique<PreciseBatchNorm>(config.precise_bn().batches()));
  }
  return absl::OkStatus();
}

}  // namespace malaria::training
