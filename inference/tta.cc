#include "inference/tta.h"

#include <torch/types.h>

namespace malaria::inference {

namespace {

std::vector<torch::Tensor> FlipViews(const torch::Tensor& images,
                                     evaluation::EvaluationConfig::TtaFlips tta_flips) {
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

}  // namespace

std::vector<torch::Tensor> TtaViews(const torch::Tensor& images, const evaluation::Tta& tta) {
  std::vector<torch::Tensor> flips = FlipViews(images, tta.flips);
  const int shift_px = tta.shift_px;
  if (shift_px <= 0) return flips;
  const int64_t k = shift_px, h = images.size(2), w = images.size(3);
  TORCH_CHECK(k < h && k < w, "a ", k, " px shift needs images larger than that, not ", h, " x ",
              w);
  std::vector<torch::Tensor> views;
  for (const torch::Tensor& v : flips) {
    // Padded by k on every side, reflected: padded[y + k][x + k] = v[y][x].
    const torch::Tensor padded = torch::reflection_pad2d(v, {k, k, k, k});
    views.push_back(v);
    views.push_back(padded.narrow(2, 0, h).narrow(3, 0, w));          // out[y][x] = v[y-k][x-k]
    views.push_back(padded.narrow(2, 2 * k, h).narrow(3, 2 * k, w));  // out[y][x] = v[y+k][x+k]
  }
  return views;
}

}  // namespace malaria::inference
