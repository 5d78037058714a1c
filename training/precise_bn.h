// PreciseBN (training.precise_bn; pycls, Detectron2): before every validation of a stage, the
// BatchNorm statistics of the model validated are recomputed from training batches with the
// current weights (models::RecomputeBatchNormStatistics), instead of the running averages that
// lag the weights while the learning rate is high.
//
//   AddPreciseBn(config, context, &callbacks);   // with training.precise_bn.batches > 0
#ifndef MALARIA_TRAINING_PRECISE_BN_H_
#define MALARIA_TRAINING_PRECISE_BN_H_

#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "training/callback.h"
#include "training/training_config.pb.h"

namespace malaria::training {

struct IngredientContext;  // training/ingredient.h

class PreciseBatchNorm : public Callback {
 public:
  explicit PreciseBatchNorm(int batches) : batches_(batches) {}
  // OnValidateBegin takes `batches` batches of the learner's training loader, in a loader epoch of
  // their own (so the stage's sample order is untouched) and at the loader's own image size, the
  // validation's, even while progressive resizing trains on smaller images (FixRes' point).
  absl::Status OnValidateBegin(FitState& state) override;

 private:
  int batches_;
};

// AddPreciseBn adds a PreciseBatchNorm when training.precise_bn.batches > 0.
absl::Status AddPreciseBn(const TrainingConfig& config, const IngredientContext& context,
                          std::vector<std::unique_ptr<Callback>>* out);

}  // namespace malaria::training

#endif  // MALARIA_TRAINING_PRECISE_BN_H_
