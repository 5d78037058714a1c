#include "training/mixup.h"

#include <torch/torch.h>

#include <algorithm>
#include <numeric>
#include <vector>

#include "data/random.h"
#include "training/ingredient.h"

namespace malaria::training {

void Mixup(StepTensors* step, double alpha, uint64_t seed) {
  const torch::Tensor& images = step->images;
  const int64_t n = images.size(0);
  data::Rng rng(seed);
  std::vector<int64_t> perm(n);
  std::iota(perm.begin(), perm.end(), 0);
  rng.Shuffle(perm);
  std::vector<float> lambda(n);
  for (int64_t i = 0; i < n; ++i) {
    const double l = rng.Beta(alpha, alpha);
    lambda[i] = static_cast<float>(std::max(l, 1 - l));
  }
  const torch::Tensor index = torch::tensor(perm, torch::kLong).to(images.device());
  step->lambda = torch::tensor(lambda, torch::kFloat).to(images.device());
  std::vector<int64_t> shape(images.dim(), 1);
  shape[0] = n;
  const torch::Tensor l = step->lambda.view(shape).to(images.scalar_type());
  torch::Tensor mixed = images * l + images.index_select(0, index) * (1 - l);
  if (images.is_contiguous(torch::MemoryFormat::ChannelsLast)) {
    mixed = mixed.contiguous(torch::MemoryFormat::ChannelsLast);
  }
  step->images = mixed;
  step->partners = step->labels.index_select(0, index.to(step->labels.device()));
}

absl::Status MixupCallback::OnBatchBegin(FitState& state) {
  Mixup(state.step, alpha_,
        data::MixSeed(seed_, data::kMixupStream, state.stage_index, state.finder ? 1 : 0,
                      state.iteration));
  return absl::OkStatus();
}

absl::Status AddMixup(const TrainingConfig& config, const IngredientContext& context,
                      std::vector<std::unique_ptr<Callback>>* out) {
  if (config.mixup().alpha() > 0) {
    out->push_back(std::make_unique<MixupCallback>(config.mixup().alpha(), context.seed));
  }
  return absl::OkStatus();
}

}  // namespace malaria::training
