// The size of a model the zoo builds, counted from its config alone (no LibTorch), so a config
// whose network cannot fit the machine is refused at validation, with its size, before anything
// is built.
//
//   const ModelSize size = EstimateModelSize(config.model(), /*image_size=*/50);
//   size.parameters        // exactly what BuildClassifier's model holds (models/model_size_test)
//   TrainingBytes(size, /*batch=*/256)   // a lower bound of what training it needs
#ifndef MALARIA_MODELS_MODEL_SIZE_H_
#define MALARIA_MODELS_MODEL_SIZE_H_

#include <cstdint>

#include "models/model_config.pb.h"

namespace malaria::models {

struct ModelSize {
  // Every parameter of the classifier BuildClassifier builds for `num_classes`: trained, frozen
  // and fixed alike (BatchNorm's running statistics are buffers, not parameters).
  double parameters = 0;
  // The values (floats) of the convolutions' outputs in one forward pass of one image: what a
  // training step keeps for the backward pass is at least twice this (each output and its
  // BatchNorm's).
  double conv_outputs_per_image = 0;
  // The height (and width) of the body's last feature map.
  int64_t feature_side = 0;
};

// EstimateModelSize counts `config`'s network (a valid ModelConfig: ValidateModelConfig passes) at
// `image_size` x `image_size` pixels.
ModelSize EstimateModelSize(const ModelConfig& config, int image_size, int num_classes = 2);

// TrainingBytes returns a lower bound of the memory training `size` at `batch` images a step
// takes: float32 weights, their gradients and AdamW's two moments (16 bytes a parameter), and two
// saved activations per convolution output (8 bytes a value per image). The allocator, the
// loader and LibTorch's workspaces come on top.
double TrainingBytes(const ModelSize& size, int batch);

}  // namespace malaria::models

#endif  // MALARIA_MODELS_MODEL_SIZE_H_
