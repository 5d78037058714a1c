#include "inference/predictor.h"

#include <torch/torch.h>

#include <numeric>
#include <utility>

#include "evaluation/calibration.h"
#include "inference/autocast.h"
#include "inference/tta.h"

namespace malaria::inference {

torch::Tensor BatchImages(data::Batch& batch, torch::Dtype dtype, const Compute& compute) {
  const int64_t s = batch.image_size;
  torch::Tensor images =
      torch::from_blob(batch.pixels.data(), {batch.size, 3, s, s}, torch::kFloat);
  if (dtype != torch::kFloat) images = images.to(dtype);
  if (compute.channels_last) images = images.contiguous(torch::MemoryFormat::ChannelsLast);
  if (!compute.device.is_cpu()) images = images.to(compute.device);
  return images;
}

torch::Tensor AverageViews(const std::function<torch::Tensor(const torch::Tensor&)>& forward,
                           const torch::Tensor& images, const evaluation::Tta& tta) {
  const std::vector<torch::Tensor> views = TtaViews(images, tta);
  torch::Tensor probs;
  for (const torch::Tensor& view : views) {
    torch::Tensor logits = forward(view);
    if (logits.scalar_type() != torch::kDouble) logits = logits.to(torch::kFloat);
    const torch::Tensor p = torch::softmax(logits, 1);
    probs = probs.defined() ? probs + p : p;
  }
  return probs / static_cast<double>(views.size());
}

namespace {

// Appends `probabilities` of `batch` to `out` and returns the batch's summed cross-entropy.
double AppendBatch(const torch::Tensor& probabilities, const data::Batch& batch, Predictions* out) {
  const torch::Tensor probs = probabilities.to(torch::kCPU);
  const torch::Tensor labels =
      torch::from_blob(const_cast<int64_t*>(batch.labels.data()), {batch.size}, torch::kLong);
  const torch::Tensor losses =
      (-probs.gather(1, labels.unsqueeze(1)).squeeze(1).clamp_min(1e-12).log())
          .to(torch::kFloat)
          .contiguous();
  const torch::Tensor rows = probs.to(torch::kFloat).contiguous();
  out->num_classes = static_cast<int>(rows.size(1));
  out->probabilities.insert(out->probabilities.end(), rows.data_ptr<float>(),
                            rows.data_ptr<float>() + rows.numel());
  out->losses.insert(out->losses.end(), losses.data_ptr<float>(),
                     losses.data_ptr<float>() + losses.numel());
  out->labels.insert(out->labels.end(), batch.labels.begin(), batch.labels.end());
  out->indices.insert(out->indices.end(), batch.indices.begin(), batch.indices.end());
  return losses.sum().item<double>();
}

}  // namespace

absl::StatusOr<Predictions> PredictBatches(
    data::BatchLoader* loader,
    const std::function<absl::StatusOr<torch::Tensor>(data::Batch&)>& probabilities) {
  Predictions out;
  double loss_sum = 0;
  loader->StartEpoch(0);
  data::Batch batch;
  while (true) {
    absl::StatusOr<bool> more = loader->Next(&batch);
    if (!more.ok()) return more.status();
    if (!*more) break;
    absl::StatusOr<torch::Tensor> rows = probabilities(batch);
    if (!rows.ok()) return rows.status();
    loss_sum += AppendBatch(*rows, batch, &out);
  }
  out.mean_loss = out.labels.empty() ? 0 : loss_sum / out.labels.size();
  return out;
}

Predictor::Predictor(std::vector<Member> members, evaluation::Tta tta,
                     std::optional<Decision> decision)
    : members_(std::move(members)), tta_(tta), decision_(decision) {}

absl::StatusOr<Predictions> Predictor::PredictLoader(const Member& member,
                                                     const evaluation::Tta& tta,
                                                     data::BatchLoader* loader) {
  torch::NoGradGuard no_grad;
  models::Classifier model = member.model;
  // On the member's device and in its layout (as a learner keeps a model it trains).
  model->to(member.compute.device);
  if (member.compute.channels_last) models::ToChannelsLast(*model);
  model->eval();
  const torch::Dtype dtype = model->parameters().empty()
                                 ? torch::kFloat
                                 : torch::typeMetaToScalarType(model->parameters()[0].dtype());
  const auto forward = [&](const torch::Tensor& view) {
    AutocastScope autocast(member.compute.device.type(), member.compute.autocast);
    return model->forward(view);
  };
  return PredictBatches(loader, [&](data::Batch& batch) -> absl::StatusOr<torch::Tensor> {
    return AverageViews(forward, BatchImages(batch, dtype, member.compute), tta);
  });
}

absl::StatusOr<evaluation::PredictionSet> Predictor::Predict(
    std::shared_ptr<const data::ImageSource> source, std::vector<int> indices) const {
  if (members_.empty()) return absl::InvalidArgumentError("a predictor needs at least one model");
  if (indices.empty()) {
    indices.resize(source->dataset().examples.size());
    std::iota(indices.begin(), indices.end(), 0);
  }
  std::vector<evaluation::PredictionSet> sets;
  for (const Member& m : members_) {
    data::BatchLoader loader(source, indices, m.input);
    absl::StatusOr<Predictions> p = PredictLoader(m, tta_, &loader);
    if (!p.ok()) return p.status();
    evaluation::PredictionSet set = ToPredictionSet(*p, source->dataset());
    if (m.temperature.has_value()) set = evaluation::WithTemperature(set, *m.temperature);
    sets.push_back(std::move(set));
  }
  absl::StatusOr<evaluation::PredictionSet> averaged = evaluation::AveragePredictions(sets);
  if (!averaged.ok()) return averaged.status();
  if (decision_.has_value() && averaged->num_classes == 2) {
    averaged->decision_positive = decision_->positive;
    averaged->decision_threshold = decision_->threshold;
  }
  return averaged;
}

}  // namespace malaria::inference
