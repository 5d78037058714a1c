#include "training/tta.h"

#include <torch/types.h>

namespace malaria::training {

std::vector<torch::Tensor> TtaViews(const torch::Tensor& images, int tta_flips) {
  std::vector<torch::Tensor> views = {images};
  if (tta_flips <= 0) return views;
  const torch::Tensor mirrored = images.flip({3});
  views.push_back(mirrored);
  if (tta_flips == 1) return views;
  views.push_back(images.flip({2}));
  if (tta_flips == 2) return views;
  TORCH_CHECK(images.size(2) == images.size(3), "eight-view test-time augmentation needs square ",
              "images, not ", images.size(2), " x ", images.size(3));
  // The rest of the dihedral group: the half turn, and the four reflections/rotations that swap
  // rows and columns.
  views.push_back(images.flip({2, 3}));
  const torch::Tensor transposed = images.transpose(2, 3);
  views.push_back(transposed);
  views.push_back(transposed.flip({3}));
  views.push_back(transposed.flip({2}));
  views.push_back(transposed.flip({2, 3}));
  return views;
}

}  // namespace malaria::training
