#include "training/patch_whitening.h"

#include <glog/logging.h>

#include "absl/strings/str_cat.h"
#include "data/loader.h"
#include "data/random.h"
#include "models/classifier.h"
#include "training/ingredient.h"
#include "training/learner.h"

namespace malaria::training {

absl::Status PatchWhitening::OnFitBegin(FitState& state) {
  Learner& learner = *state.learner;
  torch::Tensor weight = learner.model()->body->conv1->weight;
  if (filters_.defined()) {
    torch::NoGradGuard no_grad;
    weight.copy_(filters_);
    return absl::OkStatus();
  }
  data::BatchLoader* train = learner.train_loader();
  train->StartEpoch(data::EpochKey(data::kWhiteningStream, 0, 0));
  std::vector<torch::Tensor> images;
  int64_t taken = 0;
  data::Batch batch;
  while (taken < images_) {
    absl::StatusOr<bool> more = train->Next(&batch);
    if (!more.ok()) return more.status();
    if (!*more) break;
    torch::Tensor x = learner.Inputs(batch).images;
    if (taken + x.size(0) > images_) x = x.slice(0, 0, images_ - taken);
    taken += x.size(0);
    images.push_back(x.to(torch::kFloat).clone());  // the batch's buffer goes with it
  }
  if (images.empty()) {
    return absl::FailedPreconditionError(
        "model.stem.whiten: the training loader served no images to compute the whitening from");
  }
  models::Classifier model = learner.model();
  if (absl::Status s = models::SetPatchWhitening(*model, torch::cat(images), eps_); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("model.stem.whiten: ", s.message()));
  }
  filters_ = weight.detach().clone();
  ++computations_;
  LOG(INFO) << "patch whitening: stem filters from " << taken << " training images";
  return absl::OkStatus();
}

absl::Status AddPatchWhitening(const TrainingConfig& config, const IngredientContext& context,
                               std::vector<std::unique_ptr<Callback>>* out) {
  const models::StemConfig& stem = context.model.stem();
  if (stem.whiten()) {
    out->push_back(std::make_unique<PatchWhitening>(stem.whiten_images(), stem.whiten_eps()));
  }
  return absl::OkStatus();
}

}  // namespace malaria::training
