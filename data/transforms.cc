#include "data/transforms.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "data/image_io.h"
#include "opencv2/imgproc.hpp"

namespace malaria::data {
namespace {

constexpr double kPi = 3.14159265358979323846;

double Logit(double p) {
  p = std::clamp(p, 1e-7, 1 - 1e-7);
  return std::log(p / (1 - p));
}

// 3x3 matrices acting on normalised coordinates in [-1, 1] (x right, y down), mapping output
// coordinates to input coordinates, as fastai's affine matrices act on the sampling grid.
cv::Matx33d Dihedral(int k) {
  // k bit 0: flip x; bit 1: flip y; bit 2: transpose (fastai's dihedral numbering).
  double fx = (k & 1) ? -1 : 1, fy = (k & 2) ? -1 : 1;
  if (k & 4) return cv::Matx33d(0, fy, 0, fx, 0, 0, 0, 0, 1);
  return cv::Matx33d(fx, 0, 0, 0, fy, 0, 0, 0, 1);
}

cv::Matx33d Rotation(double degrees) {
  const double a = degrees * kPi / 180;
  return cv::Matx33d(std::cos(a), -std::sin(a), 0, std::sin(a), std::cos(a), 0, 0, 0, 1);
}

cv::Matx33d Zoom(double scale, double row_pct, double col_pct) {
  const double s = 1 / scale;
  const double cx = (col_pct - 0.5) * 2, cy = (row_pct - 0.5) * 2;
  return cv::Matx33d(s, 0, cx * (1 - s), 0, s, cy * (1 - s), 0, 0, 1);
}

// fastai's symmetric_warp: the corners move by the four magnitudes; the returned perspective maps
// the moved corners back to the unit square's corners.
cv::Matx33d SymmetricWarp(const std::array<double, 4>& m) {
  const cv::Point2f orig[4] = {{-1, -1}, {-1, 1}, {1, -1}, {1, 1}};
  const cv::Point2f targ[4] = {
      {static_cast<float>(-1 - m[3]), static_cast<float>(-1 - m[1])},
      {static_cast<float>(-1 - m[2]), static_cast<float>(1 + m[1])},
      {static_cast<float>(1 + m[3]), static_cast<float>(-1 - m[0])},
      {static_cast<float>(1 + m[2]), static_cast<float>(1 + m[0])},
  };
  return cv::Matx33d(cv::getPerspectiveTransform(targ, orig));
}

}  // namespace

int AlternatingDihedral(const AugmentationConfig& config, uint64_t seed, uint64_t index,
                        uint64_t pass) {
  if (!config.do_flip()) return 0;
  // fastai's numbering: 0 identity, 1 the horizontal flip; 0-7 with flip_vert.
  std::vector<int> order(config.flip_vert() ? 8 : 2);
  std::iota(order.begin(), order.end(), 0);
  Rng rng(MixSeed(seed, kFlipStream, index));
  rng.Shuffle(order);
  return order[pass % order.size()];
}

AugmentParams SampleAugment(const AugmentationConfig& c, Rng& rng) {
  AugmentParams p;
  if (!c.enabled()) return p;
  p.crop_row = rng.Uniform01();
  p.crop_col = rng.Uniform01();
  if (c.do_flip()) {
    p.dihedral = c.flip_vert() ? static_cast<int>(rng.Below(8)) : (rng.Bernoulli(0.5) ? 1 : 0);
  }
  if (c.max_warp() > 0 && rng.Bernoulli(c.p_affine())) {
    p.warp = true;
    for (double& m : p.warp_magnitude) m = rng.Uniform(-c.max_warp(), c.max_warp());
  }
  if (c.max_rotate() > 0 && rng.Bernoulli(c.p_affine())) {
    p.rotate_degrees = rng.Uniform(-c.max_rotate(), c.max_rotate());
  }
  if (c.max_zoom() > 1 && rng.Bernoulli(c.p_affine())) {
    p.zoom = rng.Uniform(1, c.max_zoom());
    p.zoom_row = rng.Uniform01();
    p.zoom_col = rng.Uniform01();
  }
  if (c.max_lighting() > 0) {
    if (rng.Bernoulli(c.p_lighting())) {
      p.brightness = rng.Uniform(0.5 * (1 - c.max_lighting()), 0.5 * (1 + c.max_lighting()));
    }
    if (rng.Bernoulli(c.p_lighting())) {
      p.contrast = rng.LogUniform(1 - c.max_lighting(), 1 / (1 - c.max_lighting()));
    }
  }
  return p;
}

cv::Matx33d GeometryMatrix(cv::Size source, int size, const AugmentParams& p) {
  // Output pixel -> normalised output coordinates (pixel centres, align_corners=False).
  const double h = size / 2.0;
  const cv::Matx33d to_norm(1 / h, 0, 0.5 / h - 1, 0, 1 / h, 0.5 / h - 1, 0, 0, 1);
  // Normalised input coordinates -> source pixels of the square crop window (side: the source's
  // shorter side) at the crop position.
  const int side = std::min(source.width, source.height);
  const double w = side / 2.0;
  const double x0 = p.crop_col * (source.width - side);
  const double y0 = p.crop_row * (source.height - side);
  const cv::Matx33d to_pixels(w, 0, x0 + w - 0.5, 0, w, y0 + w - 0.5, 0, 0, 1);
  cv::Matx33d m = Dihedral(p.dihedral);
  if (p.rotate_degrees != 0) m = Rotation(p.rotate_degrees) * m;
  if (p.zoom != 1) m = Zoom(p.zoom, p.zoom_row, p.zoom_col) * m;
  if (p.warp) m = SymmetricWarp(p.warp_magnitude) * m;
  return to_pixels * m * to_norm;
}

std::array<unsigned char, 256> LightingTable(double brightness, double contrast) {
  std::array<unsigned char, 256> table;
  const double shift = Logit(brightness);
  for (int v = 0; v < 256; ++v) {
    const double x = (Logit(v / 255.0) + shift) * contrast;
    table[v] = static_cast<unsigned char>(std::lround(255.0 / (1.0 + std::exp(-x))));
  }
  return table;
}

cv::Mat Augment(const cv::Mat& rgb, int size, const AugmentParams& p) {
  cv::Mat out;
  const cv::Matx33d m = GeometryMatrix(rgb.size(), size, p);
  cv::warpPerspective(rgb, out, cv::Mat(m), cv::Size(size, size),
                      cv::INTER_LINEAR | cv::WARP_INVERSE_MAP, cv::BORDER_REFLECT);
  if (p.brightness != 0.5 || p.contrast != 1) {
    const std::array<unsigned char, 256> table = LightingTable(p.brightness, p.contrast);
    cv::LUT(out, cv::Mat(1, 256, CV_8U, const_cast<unsigned char*>(table.data())), out);
  }
  return out;
}

cv::Mat CenterCrop(const cv::Mat& rgb, int size) {
  const cv::Mat resized = std::min(rgb.rows, rgb.cols) == size ? rgb : ResizeShortSide(rgb, size);
  const int x0 = (resized.cols - size) / 2, y0 = (resized.rows - size) / 2;
  return resized(cv::Rect(x0, y0, size, size)).clone();
}

void ToNormalizedChw(const cv::Mat& rgb, const std::array<float, 3>& mean,
                     const std::array<float, 3>& std, float* out) {
  const int plane = rgb.rows * rgb.cols;
  float scale[3], shift[3];
  for (int c = 0; c < 3; ++c) {
    scale[c] = 1.0f / (255.0f * std[c]);
    shift[c] = -mean[c] / std[c];
  }
  for (int y = 0; y < rgb.rows; ++y) {
    const auto* row = rgb.ptr<cv::Vec3b>(y);
    float* r = out + y * rgb.cols;
    float* g = r + plane;
    float* b = g + plane;
    for (int x = 0; x < rgb.cols; ++x) {
      r[x] = row[x][0] * scale[0] + shift[0];
      g[x] = row[x][1] * scale[1] + shift[1];
      b[x] = row[x][2] * scale[2] + shift[2];
    }
  }
}

}  // namespace malaria::data
