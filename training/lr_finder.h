// fastai v1's learning-rate finder as a callback of the learner's loop (Learner::FindLr runs it):
// an exponential sweep of the learning rate over training batches, recording the smoothed loss,
// then the model's weights restored exactly.
//
//   LrFinder finder(stage.lr_finder(), model->NumLayerGroups());
//   ... the loop with `finder` in place of the one-cycle schedule ...
//   LrFinderResult result = finder.Result();
#ifndef MALARIA_TRAINING_LR_FINDER_H_
#define MALARIA_TRAINING_LR_FINDER_H_

#include <ATen/core/Tensor.h>

#include <vector>

#include "absl/status/status.h"
#include "training/callback.h"
#include "training/schedule.h"
#include "training/training_config.pb.h"

namespace malaria::training {

class LrFinder : public Callback {
 public:
  LrFinder(const LrFinderConfig& config, int layer_groups);

  // OnFitBegin keeps a copy of every parameter and buffer of the model.
  absl::Status OnFitBegin(FitState& state) override;
  // OnBatchBegin sets batch t's learning rate, start_lr * (end_lr / start_lr)^(t / iterations),
  // for every layer group, and Adam's beta1.
  absl::Status OnBatchBegin(FitState& state) override;
  // OnBatchEnd records the loss and stops the loop after num_iterations batches, or when the
  // smoothed loss exceeds divergence_factor times its minimum or is NaN (with stop_div).
  absl::Status OnBatchEnd(FitState& state) override;
  // OnFitEnd restores the model's parameters and buffers, however the sweep ended.
  void OnFitEnd(FitState& state, const absl::Status& outcome) override;

  // The curve and fastai's suggestions (SuggestLearningRates).
  LrFinderResult Result() const;
  // The number of training batches the sweep needs at most.
  int iterations() const { return config_.num_iterations(); }

 private:
  LrFinderConfig config_;
  int layer_groups_;
  SmoothedValue smooth_;
  double best_ = 0;
  LrFinderResult result_;
  std::vector<at::Tensor> saved_;  // parameters, then buffers
};

}  // namespace malaria::training

#endif  // MALARIA_TRAINING_LR_FINDER_H_
