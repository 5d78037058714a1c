// The fastai v1 cnn_learner model: a torchvision ResNet body (no pooling, no fc) and fastai's
// create_head head, split into fastai's three layer groups for discriminative learning rates and
// freezing.
//
//   ModelConfig config;  // architecture: "resnet34", fastai's default head
//   absl::StatusOr<Classifier> model = BuildClassifier(config, /*num_classes=*/2);
//   (*model)->FreezeTo(-1, /*train_bn=*/true);     // fastai learn.freeze(): only the head trains
//   torch::Tensor logits = (*model)->forward(x);   // float [N,3,H,W] -> [N,2]
//
// Parameter names: `body.` + torchvision's names (`body.layer1.0.conv1.weight`), `head.<i>.` for
// the head's layers in order (`head.4.weight` is the first Linear of the default head).
#ifndef MALARIA_MODELS_CLASSIFIER_H_
#define MALARIA_MODELS_CLASSIFIER_H_

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/pimpl.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "models/architectures.h"
#include "models/model_config.pb.h"
#include "models/resnet.h"

namespace malaria::models {

// fastai's AdaptiveConcatPool2d: max and average pooling to 1x1, concatenated (max first).
// float [N,C,H,W] -> [N,2C,1,1].
class AdaptiveConcatPool2dImpl : public torch::nn::Module {
 public:
  torch::Tensor forward(torch::Tensor x);
};
TORCH_MODULE(AdaptiveConcatPool2d);

// [N, ...] -> [N, prod(...)].
class FlattenImpl : public torch::nn::Module {
 public:
  torch::Tensor forward(torch::Tensor x);
};
TORCH_MODULE(Flatten);

class ClassifierImpl : public torch::nn::Module {
 public:
  // `config` and `num_classes`: what BuildClassifier built the model from (CloneClassifier).
  ClassifierImpl(std::string architecture, ResNet body, torch::nn::Sequential head,
                 ModelConfig config = ModelConfig(), int num_classes = 0);

  // forward: float [N,3,H,W], normalised as the body's weights expect -> logits [N,classes].
  torch::Tensor forward(torch::Tensor x);

  // LayerGroups returns fastai's split of a ResNet learner: [stem, layer1, layer2],
  // [layer3, layer4], [head].
  std::vector<std::vector<std::shared_ptr<torch::nn::Module>>> LayerGroups();
  int NumLayerGroups() { return kNumLayerGroups; }

  // FreezeTo is fastai's freeze_to(n): layer groups before n stop training (requires_grad false),
  // the rest train. A negative n counts from the end: -1 freezes all but the head (fastai's
  // freeze()), 0 trains everything (unfreeze()). With train_bn, BatchNorm layers in frozen groups
  // keep training, as in fastai. Fixed parameters never train.
  void FreezeTo(int n, bool train_bn);

  // FixParameter keeps `p` (one of this model's parameters) out of training for good: it gets
  // requires_grad false now and from every FreezeTo. What the config fixes (a whitening stem, the
  // BatchNorm weights without model.batch_norm_scale) BuildClassifier fixes.
  void FixParameter(torch::Tensor p);
  // IsFixed reports whether `p` is one of the fixed parameters.
  bool IsFixed(const torch::Tensor& p) const;

  const std::string& architecture() const { return architecture_; }
  // The config and class count BuildClassifier built this model from (CloneClassifier).
  const ModelConfig& config() const { return config_; }
  int num_classes() const { return num_classes_; }

  ResNet body{nullptr};
  torch::nn::Sequential head{nullptr};

 private:
  std::string architecture_;
  ModelConfig config_;
  int num_classes_ = 0;
  std::vector<torch::Tensor> fixed_;
};
TORCH_MODULE(Classifier);

// MakeHead builds fastai v1's create_head for a body with `body_channels` output channels.
// Dropouts and hidden sizes come from `config`, with fastai's defaults when empty
// (FillHeadDefaults).
torch::nn::Sequential MakeHead(int64_t body_channels, int64_t num_classes,
                               const HeadConfig& config);

// BuildClassifier builds the body named by config.architecture() (randomly initialised as
// torchvision does) and a fastai head for `num_classes`, Kaiming-normal initialised as fastai does.
// InvalidArgument for an unknown architecture (listing the known ones) or an inconsistent head.
absl::StatusOr<Classifier> BuildClassifier(const ModelConfig& config, int num_classes);

// CloneClassifier returns a second model like `model` (built by BuildClassifier): the same
// architecture and head, and copies of its parameters and buffers with their device, type, memory
// layout and requires_grad. LibTorch's random generator is left as it was.
Classifier CloneClassifier(ClassifierImpl& model);

// SetPatchWhitening fills the frozen whitening stem of `model` (model.stem.whiten) from `images`
// (float [N,C,H,W] as forward takes them; a one-channel stem reads their channel mean): with the
// k*k*c-dimensional patches x of every position (stride 1, no padding), the second-moment matrix
// S = mean(x x^T) = V diag(lambda) V^T, the first convolution's filters become v_i / sqrt(lambda_i
// + eps) for every eigenvector v_i (largest eigenvalue first), then their negatives. Its outputs on
// such patches are then decorrelated with second moments lambda_i / (lambda_i + eps).
// FailedPrecondition when the model was not built with model.stem.whiten; InvalidArgument for
// images smaller than the kernel.
absl::Status SetPatchWhitening(ClassifierImpl& model, const torch::Tensor& images, double eps);

// Every 4-d parameter of `module` (the convolutions' weights) in channels-last memory format, with
// channels-last strides even where the format is ambiguous: a one-channel stem's [O,1,k,k] weight
// is contiguous both ways, Tensor::contiguous keeps its NCHW strides, and oneDNN then runs the stem
// in NCHW and copies its output for the next convolution. Rewrites the strides, as PyTorch's
// Module.to(memory_format=torch.channels_last) does. A weight already so is left as it is (no
// copy), so a model predicted with again and again is rewritten once.
void ToChannelsLast(torch::nn::Module& module);

// IsBatchNorm reports whether `module` is a BatchNorm1d/2d layer.
bool IsBatchNorm(const torch::nn::Module& module);

// RecomputeBatchNormStatistics is PreciseBN (pycls, Detectron2): it replaces the running mean and
// variance of every BatchNorm layer of `model` by their averages over the next `batches` batches
// `next_batch` returns (float [N,3,H,W]; an undefined tensor ends them early), computed in training
// mode with the current weights and no gradients. Running averages lag weights that change fast;
// these do not. The layers' momenta, batch counts and the model's mode are restored; with a stats
// reducer (SyncBatchNorm across processes) the batches of every process count.
void RecomputeBatchNormStatistics(ClassifierImpl& model,
                                  const std::function<torch::Tensor()>& next_batch, int batches);

// GradCam is the heatmap fastai v1 draws over plot_top_losses' images (Grad-CAM, Selvaraju et
// al. 2017): for one image x (float [1,3,H,W], normalised as for forward), the body's output
// activations A [C,h,w], each channel weighted by the spatial mean of d logit[target] / d A, summed
// over channels, negatives set to zero: float [h,w] on the CPU. The model runs in eval mode (its
// mode is restored); no parameter's gradient is touched. With a head of average pooling and one
// Linear layer it is the class activation map divided by h*w.
torch::Tensor GradCam(ClassifierImpl& model, const torch::Tensor& x, int64_t target);

// fastai's heatmap_thresh: a feature grid with fewer cells than this is too coarse to draw.
inline constexpr int64_t kMinHeatmapCells = 16;

}  // namespace malaria::models

#endif  // MALARIA_MODELS_CLASSIFIER_H_
