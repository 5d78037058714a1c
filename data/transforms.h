// fastai v1's get_transforms() in OpenCV: random crop, flip (or dihedral), symmetric perspective
// warp, rotation, zoom, brightness and contrast, each with fastai's probabilities and ranges. All
// geometric steps are composed into one 3x3 matrix and applied with a single warpPerspective
// (bilinear, reflection padding, as fastai's grid_sample), so augmenting costs one resampling.
//
//   Rng rng(MixSeed(seed, kAugmentStream, epoch, index));
//   AugmentParams p = SampleAugment(config.augmentation(), rng);
//   cv::Mat out = Augment(cached_rgb, /*size=*/64, p);     // CV_8UC3, 64x64
//   ToNormalizedChw(out, mean, std, batch_pixels + i * 3 * 64 * 64);
#ifndef MALARIA_DATA_TRANSFORMS_H_
#define MALARIA_DATA_TRANSFORMS_H_

#include <array>

#include "data/data_config.pb.h"
#include "data/random.h"
#include "opencv2/core/mat.hpp"

namespace malaria::data {

// The random draws of one augmented image. Default-constructed: the identity with a centre crop.
struct AugmentParams {
  double crop_row = 0.5, crop_col = 0.5;  // crop position in [0, 1] (fastai rand_crop)
  int dihedral = 0;                       // 0 identity, 1 horizontal flip, 2..7 other dihedral
  bool warp = false;
  std::array<double, 4> warp_magnitude{};           // fastai symmetric_warp's four magnitudes
  double rotate_degrees = 0;                        // counter-clockwise
  double zoom = 1, zoom_row = 0.5, zoom_col = 0.5;  // scale >= 1 about (row, col) in [0, 1]
  double brightness = 0.5;  // fastai change: 0.5 leaves brightness unchanged
  double contrast = 1;      // fastai scale: 1 leaves contrast unchanged
};

// SampleAugment draws the parameters of one training image as fastai's get_transforms() would.
AugmentParams SampleAugment(const AugmentationConfig& config, Rng& rng);

// AlternatingDihedral returns the dihedral transformation (AugmentParams::dihedral) of image
// `index` in pass `pass` of a stage with alternating flips: entry pass mod K of the image's own
// random order of its K = 2 flips (8 with config.flip_vert), drawn from `seed`. Only do_flip and
// flip_vert of `config` are read.
int AlternatingDihedral(const AugmentationConfig& config, uint64_t seed, uint64_t index,
                        uint64_t pass);

// GeometryMatrix returns the 3x3 matrix mapping output pixel coordinates (x, y) of a size x size
// result to pixel coordinates of a `source_size` (cols, rows) image, for WARP_INVERSE_MAP. The
// identity parameters map the output onto the source's central square, scaled to `size`.
cv::Matx33d GeometryMatrix(cv::Size source_size, int size, const AugmentParams& p);

// Augment returns the size x size image for `p`: the geometric steps applied to `rgb`, then
// lighting. CV_8UC3 in and out. Resampling is bilinear, so `rgb` should have its shorter side
// near `size` already (the loader's cache does that).
cv::Mat Augment(const cv::Mat& rgb, int size, const AugmentParams& p);

// CenterCrop returns the central size x size part of `rgb`, resized first if its shorter side is
// not `size` (the validation transform).
cv::Mat CenterCrop(const cv::Mat& rgb, int size);

// LightingTable returns the 256-entry lookup table of fastai's brightness and contrast in logit
// space: v -> 255 * sigmoid((logit(v / 255) + logit(brightness)) * contrast).
std::array<unsigned char, 256> LightingTable(double brightness, double contrast);

// ToNormalizedChw writes `rgb` (CV_8UC3, H x W) as float CHW to `out` (3 * H * W floats):
// (v / 255 - mean[c]) / std[c].
void ToNormalizedChw(const cv::Mat& rgb, const std::array<float, 3>& mean,
                     const std::array<float, 3>& std, float* out);

}  // namespace malaria::data

#endif  // MALARIA_DATA_TRANSFORMS_H_
