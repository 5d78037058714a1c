// Test-time augmentation: the views of a batch whose softmax probabilities a prediction averages.
//
// evaluation::Tta (evaluation/tta_setting.h) is the one description of the views, with their
// words; this draws them.
//
//   for (const torch::Tensor& view : TtaViews(images, {EvaluationConfig::TTA_DIHEDRAL, 0}))
//     probs += softmax(model(view));
#ifndef MALARIA_INFERENCE_TTA_H_
#define MALARIA_INFERENCE_TTA_H_

#include <torch/types.h>

#include <vector>

#include "evaluation/tta_setting.h"

namespace malaria::inference {

// TtaViews returns `images` (float [N, C, H, W]) as they are, then with tta.flips TTA_HORIZONTAL
// flipped left to right, with TTA_FLIPS also flipped upside down (three views: the study's flips),
// with TTA_DIHEDRAL the whole dihedral group of the square: the four rotations by 90 degrees and
// their mirror images (eight views; H must equal W). With tta.shift_px > 0 each of those views is
// followed by itself shifted shift_px pixels down and right, then up and left, the edges reflected
// (multi-crop: three times the views; shift_px must be less than H and W).
std::vector<torch::Tensor> TtaViews(const torch::Tensor& images, const evaluation::Tta& tta);

}  // namespace malaria::inference

#endif  // MALARIA_INFERENCE_TTA_H_
