// Test-time augmentation: the views of a batch whose softmax probabilities a prediction averages.
//
//   for (const torch::Tensor& view : TtaViews(images, /*tta_flips=*/3)) probs +=
//   softmax(model(view));
#ifndef MALARIA_TRAINING_TTA_H_
#define MALARIA_TRAINING_TTA_H_

#include <torch/types.h>

#include <vector>

namespace malaria::training {

// TtaViews returns `images` (float [N, C, H, W]) as they are, then with tta_flips 1 flipped left to
// right, with 2 also flipped upside down (three views: the study's flips), with 3 the whole
// dihedral group of the square: the four rotations by 90 degrees and their mirror images (eight
// views; H must equal W). tta_flips outside 0-3 is treated as the nearest end. The numbers are
// those of evaluation.tta_flips (EvaluationConfig::TtaFlips: TTA_NONE, TTA_HORIZONTAL, TTA_FLIPS,
// TTA_DIHEDRAL), whose words are evaluation/tta_setting.h's.
// With shift_px > 0 each of those views is followed by itself shifted shift_px pixels down and
// right, then up and left, the edges reflected (multi-crop: three times the views; shift_px must
// be less than H and W).
std::vector<torch::Tensor> TtaViews(const torch::Tensor& images, int tta_flips, int shift_px = 0);

}  // namespace malaria::training

#endif  // MALARIA_TRAINING_TTA_H_
