// Inference as its own piece: a trained network, or an ensemble of them, with each member's input
// preprocessing and arithmetic, the one test-time augmentation (evaluation::Tta) and the
// calibration, predicting images without training's Learner. The run's final evaluation,
// `evaluate`, `classify` and k-fold models all predict through it (experiments/trained_model.h
// builds one from runs).
//
//   inference::Member m{model, *data::BuildLoaderOptions(config.data(), kEvaluation, seed, 0)};
//   m.compute.autocast = torch::kBFloat16;           // as the model trained, where the CPU can
//   inference::Predictor predictor({m}, {EvaluationConfig::TTA_FLIPS, 0});
//   absl::StatusOr<evaluation::PredictionSet> set = predictor.Predict(source);
//
// Batches take each model's floating-point type (float32; float64 for the numerical tests).
#ifndef MALARIA_INFERENCE_PREDICTOR_H_
#define MALARIA_INFERENCE_PREDICTOR_H_

#include <torch/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "data/loader.h"
#include "evaluation/predictions.h"
#include "evaluation/tta_setting.h"
#include "inference/predictions.h"
#include "models/classifier.h"

namespace malaria::inference {

// Where and how a network computes.
struct Compute {
  torch::Device device = torch::kCPU;
  bool channels_last = true;  // NHWC batches (training.channels_last)
  // The forward pass's autocast arithmetic: kFloat (none), kBFloat16 (CUDA, or a CPU with
  // bfloat16 units) or kHalf (CUDA). Logits come back float32 either way.
  torch::ScalarType autocast = torch::kFloat;
};

// BatchImages returns `batch`'s pixels as [N, 3, S, S] of `dtype` on compute.device, NHWC when
// compute.channels_last (a view of the batch's buffer when nothing changes: keep the batch alive).
torch::Tensor BatchImages(data::Batch& batch, torch::Dtype dtype, const Compute& compute);

// AverageViews returns the softmax probabilities of `forward` averaged over the views of `images`
// `tta` names (one view for TTA_NONE): float32 (float64 for a float64 model) on their device.
torch::Tensor AverageViews(const std::function<torch::Tensor(const torch::Tensor&)>& forward,
                           const torch::Tensor& images, const evaluation::Tta& tta);

// PredictBatches runs epoch 0 of `loader`: each batch's probabilities ([N, classes], any device)
// from `probabilities`, appended with the batch's labels and dataset indices and each row's
// cross-entropy against its label; mean_loss over all. The first error stops it.
absl::StatusOr<Predictions> PredictBatches(
    data::BatchLoader* loader,
    const std::function<absl::StatusOr<torch::Tensor>(data::Batch&)>& probabilities);

// One network of a predictor.
struct Member {
  models::Classifier model{nullptr};
  data::LoaderOptions input;  // its images' size, normalisation and batches (evaluation role)
  Compute compute;
  // Its calibration's temperature, applied to its probabilities before the members are averaged.
  std::optional<double> temperature;
};

// The calibrated decision of a two-class predictor: class `positive` at probability >= threshold.
struct Decision {
  int positive = 0;
  double threshold = 0.5;
};

class Predictor {
 public:
  Predictor(std::vector<Member> members, evaluation::Tta tta,
            std::optional<Decision> decision = std::nullopt);

  // Predict runs every member over the examples of `source` at `indices` (all of them, in order,
  // when empty), each with its views averaged and its temperature applied, and averages the
  // members' probabilities (evaluation::AveragePredictions: losses from the averaged rows). With
  // a decision and two classes the set carries it (decision_positive, decision_threshold).
  absl::StatusOr<evaluation::PredictionSet> Predict(std::shared_ptr<const data::ImageSource> source,
                                                    std::vector<int> indices = {}) const;

  // PredictLoader runs `member` in eval mode, without gradients, over every batch of `loader`
  // (epoch 0), averaging the views `tta` names; no temperature. The member's model is moved to its
  // device and layout first (shared: it stays there; a model already there is not copied again).
  static absl::StatusOr<Predictions> PredictLoader(const Member& member, const evaluation::Tta& tta,
                                                   data::BatchLoader* loader);

  const std::vector<Member>& members() const { return members_; }
  const evaluation::Tta& tta() const { return tta_; }
  const std::optional<Decision>& decision() const { return decision_; }

 private:
  std::vector<Member> members_;
  evaluation::Tta tta_;
  std::optional<Decision> decision_;
};

}  // namespace malaria::inference

#endif  // MALARIA_INFERENCE_PREDICTOR_H_
