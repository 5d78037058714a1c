// The frozen patch-whitening stem (model.stem.whiten): before training, its filters are computed
// from training images (models::SetPatchWhitening), as the CIFAR-10 speed runs do.
//
//   AddPatchWhitening(config, context, &callbacks);   // with context.model.stem().whiten()
#ifndef MALARIA_TRAINING_PATCH_WHITENING_H_
#define MALARIA_TRAINING_PATCH_WHITENING_H_

#include <ATen/core/Tensor.h>

#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "training/callback.h"
#include "training/training_config.pb.h"

namespace malaria::training {

struct IngredientContext;  // training/ingredient.h

class PatchWhitening : public Callback {
 public:
  PatchWhitening(int images, double eps) : images_(images), eps_(eps) {}
  // OnFitBegin (of every stage and finder sweep, before any weights are shared between processes
  // or copied into a weight average) fills the stem. The first time it computes the filters from
  // the first `images` images of a loader epoch of the training loader's own
  // (data::kWhiteningStream); later fits (the next stage, the stage after a finder sweep, which
  // restores the weights it started from) get the same filters again without reading an image.
  // A resumed run then loads its checkpoint's, which are these. In a data-parallel run each
  // process reads its own shard and rank 0's filters are broadcast.
  absl::Status OnFitBegin(FitState& state) override;

  // How many times the filters were computed from images (1 after any number of fits).
  int computations() const { return computations_; }

 private:
  int images_;
  double eps_;
  torch::Tensor filters_;  // the stem's weight once computed
  int computations_ = 0;
};

// AddPatchWhitening adds a PatchWhitening when context.model.stem().whiten().
absl::Status AddPatchWhitening(const TrainingConfig& config, const IngredientContext& context,
                               std::vector<std::unique_ptr<Callback>>* out);

}  // namespace malaria::training

#endif  // MALARIA_TRAINING_PATCH_WHITENING_H_
