#include "data/synthetic.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/files.h"
#include "data/image_io.h"
#include "data/random.h"
#include "glog/logging.h"
#include "opencv2/imgproc.hpp"

namespace malaria::data {
namespace {

namespace fs = std::filesystem;

constexpr double kPi = 3.14159265358979323846;

cv::Scalar Rgb(double r, double g, double b) { return cv::Scalar(r, g, b); }

// A point inside the ellipse (cx, cy, ax, ay, angle), at a random fraction of its radius.
cv::Point2d PointInside(Rng& rng, cv::Point2d centre, double ax, double ay, double angle_deg,
                        double max_fraction) {
  const double t = rng.Uniform(0, 2 * kPi);
  const double r = max_fraction * std::sqrt(rng.Uniform01());
  const double a = angle_deg * kPi / 180;
  const double x = r * ax * std::cos(t);
  const double y = r * ay * std::sin(t);
  return {centre.x + x * std::cos(a) - y * std::sin(a),
          centre.y + x * std::sin(a) + y * std::cos(a)};
}

// Shift so drawing at sub-pixel precision is possible (cv drawing takes fixed-point coordinates).
constexpr int kShift = 4;
constexpr double kScale = 1 << kShift;
cv::Point Fixed(cv::Point2d p) {
  return {static_cast<int>(std::lround(p.x * kScale)), static_cast<int>(std::lround(p.y * kScale))};
}
int FixedLen(double v) { return std::max(1, static_cast<int>(std::lround(v * kScale))); }

}  // namespace

SyntheticOptions BuildSyntheticOptions(const SyntheticFallback& f, uint64_t seed) {
  SyntheticOptions options;
  options.num_images = f.num_images();
  options.image_size = f.source_size();
  options.hard_negative_fraction = f.hard_negative_fraction();
  options.num_patients = f.num_patients();
  options.difficulty = f.difficulty();
  options.seed = seed;
  return options;
}

cv::Mat RenderSyntheticCell(bool parasitized, uint64_t seed, const SyntheticOptions& options) {
  Rng rng(seed);
  const int rows =
      std::max(16, static_cast<int>(std::lround(options.image_size * rng.Uniform(0.85, 1.15))));
  const int cols = std::max(16, static_cast<int>(std::lround(rows * rng.Uniform(0.9, 1.1))));
  cv::Mat image(rows, cols, CV_8UC3, cv::Scalar::all(0));
  const double s = std::min(rows, cols);

  // The red blood cell: an ellipse filling most of the crop, pink with stain variation.
  const cv::Point2d centre(cols / 2.0 + rng.Uniform(-0.04, 0.04) * s,
                           rows / 2.0 + rng.Uniform(-0.04, 0.04) * s);
  const double ax = s * rng.Uniform(0.36, 0.46);
  const double ay = ax * rng.Uniform(0.85, 1.0);
  const double angle = rng.Uniform(0, 180);
  const double stain = rng.Uniform(-25, 25);
  const cv::Scalar cell_colour = Rgb(205 + stain * 0.5, 145 + stain, 150 + stain * 0.6);
  cv::ellipse(image, Fixed(centre), cv::Size(FixedLen(ax), FixedLen(ay)), angle, 0, 360,
              cell_colour, cv::FILLED, cv::LINE_AA, kShift);
  // Central pallor: the biconcave disc is paler in the middle.
  cv::ellipse(image, Fixed(centre), cv::Size(FixedLen(ax * 0.45), FixedLen(ay * 0.45)), angle, 0,
              360, cell_colour + Rgb(18, 22, 20), cv::FILLED, cv::LINE_AA, kShift);

  const double feature = s / 64.0;  // feature sizes scale with the crop
  if (parasitized) {
    const int kind = static_cast<int>(rng.Below(3));
    // Difficulty 0.5 is the reference look; lower is bolder, higher fades the chromatin towards
    // the cytoplasm's colour.
    const double contrast = 1.3 - 0.6 * options.difficulty;
    const cv::Scalar dark = Rgb(rng.Uniform(95, 135), rng.Uniform(30, 60), rng.Uniform(120, 160));
    cv::Scalar chromatin;
    for (int c = 0; c < 3; ++c) {
      chromatin[c] = std::clamp(cell_colour[c] + (dark[c] - cell_colour[c]) * contrast, 0.0, 255.0);
    }
    if (kind <= 1) {
      // Ring form: a thin purple ring with one or two dense chromatin dots on it.
      const double ring = feature * rng.Uniform(3.5, 6.5);
      const cv::Point2d at = PointInside(rng, centre, ax - ring, ay - ring, angle, 0.8);
      cv::circle(image, Fixed(at), FixedLen(ring), chromatin,
                 std::max(1, static_cast<int>(std::lround(feature * 1.3))), cv::LINE_AA, kShift);
      const int dots = 1 + static_cast<int>(rng.Below(2));
      for (int d = 0; d < dots; ++d) {
        const double t = rng.Uniform(0, 2 * kPi);
        cv::circle(image, Fixed(at + cv::Point2d(ring * std::cos(t), ring * std::sin(t))),
                   FixedLen(feature * rng.Uniform(1.4, 2.2)), chromatin * 0.8, cv::FILLED,
                   cv::LINE_AA, kShift);
      }
    } else {
      // Chromatin dots (late trophozoite / schizont-like clusters).
      const int dots = 2 + static_cast<int>(rng.Below(4));
      const cv::Point2d at = PointInside(rng, centre, ax, ay, angle, 0.55);
      for (int d = 0; d < dots; ++d) {
        const cv::Point2d p =
            at + cv::Point2d(rng.Uniform(-4, 4) * feature, rng.Uniform(-4, 4) * feature);
        cv::circle(image, Fixed(p), FixedLen(feature * rng.Uniform(1.3, 2.4)), chromatin,
                   cv::FILLED, cv::LINE_AA, kShift);
      }
    }
  } else if (rng.Bernoulli(options.hard_negative_fraction)) {
    if (rng.Bernoulli(0.5)) {
      // Stain specks: a few tiny, pale violet points.
      const int specks = 1 + static_cast<int>(rng.Below(4));
      for (int d = 0; d < specks; ++d) {
        const cv::Point2d p = PointInside(rng, centre, ax, ay, angle, 0.9);
        cv::circle(image, Fixed(p),
                   FixedLen(feature * rng.Uniform(0.5, 0.9) * (0.6 + 0.8 * options.difficulty)),
                   Rgb(rng.Uniform(150, 175), rng.Uniform(105, 125), rng.Uniform(165, 185)),
                   cv::FILLED, cv::LINE_AA, kShift);
      }
    } else {
      // A platelet: a purple blob centred just outside the cell's edge, overlapping it.
      const double t = rng.Uniform(0, 2 * kPi);
      const double a = angle * kPi / 180;
      const double ex = ax * 1.05 * std::cos(t), ey = ay * 1.05 * std::sin(t);
      const cv::Point2d at(centre.x + ex * std::cos(a) - ey * std::sin(a),
                           centre.y + ex * std::sin(a) + ey * std::cos(a));
      cv::ellipse(
          image, Fixed(at),
          cv::Size(FixedLen(feature * rng.Uniform(3, 5)), FixedLen(feature * rng.Uniform(2, 3.5))),
          rng.Uniform(0, 180), 0, 360,
          Rgb(rng.Uniform(115, 150), rng.Uniform(60, 90), rng.Uniform(140, 170)), cv::FILLED,
          cv::LINE_AA, kShift);
    }
  }

  // Microscope blur and sensor noise, inside the cell only (the background stays black).
  cv::Mat blurred;
  cv::GaussianBlur(image, blurred, cv::Size(0, 0), 0.6 * feature);
  Rng noise_rng(MixSeed(seed, 7));
  for (int y = 0; y < rows; ++y) {
    auto* row = blurred.ptr<cv::Vec3b>(y);
    for (int x = 0; x < cols; ++x) {
      if (row[x][0] == 0 && row[x][1] == 0 && row[x][2] == 0) continue;
      const int n = static_cast<int>(noise_rng.Below(9)) - 4;
      for (int c = 0; c < 3; ++c) row[x][c] = cv::saturate_cast<uchar>(row[x][c] + n);
    }
  }
  return blurred;
}

std::string SyntheticFileName(int index, bool parasitized, const SyntheticOptions& options) {
  // Patients are assigned round-robin over the class's images; every 4th group is a healthy donor,
  // which only has uninfected cells (as in the NIH data).
  const int groups = std::max(1, options.num_patients);
  std::vector<int> infected, all;
  for (int g = 0; g < groups; ++g) {
    all.push_back(g);
    if (g % 4 != 3 || groups < 4) infected.push_back(g);
  }
  const std::vector<int>& pool = parasitized ? infected : all;
  const int group = pool[(index / 2) % pool.size()];
  const int slide = 100 + group;
  const bool donor = !(group % 4 != 3 || groups < 4);
  if (donor) return absl::StrFormat("C%d_thinF_IMG_synthetic_cell_%d.png", slide, index);
  return absl::StrFormat("C%dP%dThinF_IMG_synthetic_cell_%d.png", slide, group + 1, index);
}

absl::Status WriteSyntheticDataset(const std::string& dir, const SyntheticOptions& options) {
  if (base::PathExists(dir)) {
    return absl::AlreadyExistsError(
        absl::StrCat("synthetic dataset folder ", dir, " already exists"));
  }
  if (options.num_images < 2 || options.image_size < 16) {
    return absl::InvalidArgumentError(
        absl::StrCat("synthetic dataset needs at least 2 images of at least 16 px, got ",
                     options.num_images, " of ", options.image_size, " px"));
  }
  const std::string tmp = absl::StrCat(dir, ".partial.", ::getpid());
  std::error_code ec;
  fs::remove_all(tmp, ec);
  for (const char* cls : {"Parasitized", "Uninfected"}) {
    if (absl::Status s = base::MakeDirs(base::JoinPath(tmp, cls)); !s.ok()) return s;
  }
  const int threads =
      options.threads > 0 ? options.threads : std::max(1u, std::thread::hardware_concurrency());
  std::atomic<int> next{0};
  std::mutex mu;
  absl::Status first_error;
  auto work = [&]() {
    for (int i = next++; i < options.num_images; i = next++) {
      const bool parasitized = (i % 2) == 0;
      const cv::Mat cell =
          RenderSyntheticCell(parasitized, MixSeed(options.seed, kSyntheticStream, i), options);
      const std::string path =
          base::JoinPath(base::JoinPath(tmp, parasitized ? "Parasitized" : "Uninfected"),
                         SyntheticFileName(i, parasitized, options));
      if (absl::Status s = WritePng(cell, path); !s.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        if (first_error.ok()) first_error = s;
        return;
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(work);
  for (std::thread& t : pool) t.join();
  if (!first_error.ok()) {
    fs::remove_all(tmp, ec);
    return first_error;
  }
  fs::rename(tmp, dir, ec);
  if (ec) {
    fs::remove_all(tmp, ec);
    if (base::PathExists(dir)) return absl::OkStatus();  // another process won the race
    return absl::InternalError(absl::StrCat("cannot move synthetic dataset into ", dir));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> EnsureSyntheticDataset(const std::string& cache_root,
                                                   const SyntheticOptions& options) {
  const std::string dir = base::JoinPath(
      cache_root, absl::StrFormat("synthetic_n%d_px%d_hn%.3f_d%.3f_p%d_seed%d", options.num_images,
                                  options.image_size, options.hard_negative_fraction,
                                  options.difficulty, options.num_patients, options.seed));
  if (base::IsDirectory(dir)) return dir;
  if (absl::Status s = base::MakeDirs(cache_root); !s.ok()) return s;
  LOG(INFO) << "Generating " << options.num_images << " synthetic cell images into " << dir;
  if (absl::Status s = WriteSyntheticDataset(dir, options); !s.ok()) return s;
  return dir;
}

}  // namespace malaria::data
