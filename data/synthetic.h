// A deterministic synthetic stand-in for the NIH malaria dataset.
//
// Cells are RGB discs of varying size, shape and stain on a black background, like the NIH crops.
// Parasitized cells carry purple ring-form trophozoites (a ring with a chromatin dot) or dots of
// chromatin inside the cell; uninfected cells may carry hard negatives instead: tiny pale stain
// specks, or a purple platelet overlapping the cell's edge from outside. Files are named like the
// NIH ones, with patient and slide groups (`C12P9ThinF_IMG_synthetic_cell_3.png`; healthy donors
// `C40_thinF_IMG_synthetic_cell_7.png`), so patient-level splits work on them too.
//
//   SyntheticOptions options;
//   options.num_images = 2000;
//   RETURN_IF_ERROR(WriteSyntheticDataset("/tmp/cells", options));
//   // /tmp/cells/Parasitized/*.png and /tmp/cells/Uninfected/*.png, identical for the same seed.
#ifndef MALARIA_DATA_SYNTHETIC_H_
#define MALARIA_DATA_SYNTHETIC_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "data/data_config.pb.h"
#include "opencv2/core/mat.hpp"

namespace malaria::data {

// The defaults are data.synthetic_fallback's (SyntheticFallback): BuildSyntheticOptions of an
// empty message gives exactly these.
struct SyntheticOptions {
  // Total, half per class (Parasitized gets the odd one).
  int num_images = SyntheticFallback::default_instance().num_images();
  // Nominal side in pixels; each crop varies by +-15 %.
  int image_size = SyntheticFallback::default_instance().source_size();
  // Of uninfected cells.
  float hard_negative_fraction = SyntheticFallback::default_instance().hard_negative_fraction();
  // 0: bold parasites; 1: faint, small parasites and larger specks.
  float difficulty = SyntheticFallback::default_instance().difficulty();
  // Groups in file names; every 4th is a healthy donor.
  int num_patients = SyntheticFallback::default_instance().num_patients();
  uint64_t seed = 0;
  int threads = 0;  // 0: every core
};

// BuildSyntheticOptions returns the settings `fallback` (data.synthetic_fallback) describes,
// drawn from `seed`.
SyntheticOptions BuildSyntheticOptions(const SyntheticFallback& fallback, uint64_t seed);

// RenderSyntheticCell draws one cell (CV_8UC3, RGB). Equal arguments give equal pixels.
cv::Mat RenderSyntheticCell(bool parasitized, uint64_t seed, const SyntheticOptions& options);

// SyntheticFileName returns the NIH-style file name of image `index`.
std::string SyntheticFileName(int index, bool parasitized, const SyntheticOptions& options);

// WriteSyntheticDataset writes options.num_images PNGs in the NIH layout under `dir`, which must
// not exist yet: the images are written into a temporary folder beside it, then renamed, so `dir`
// is either complete or absent. Returns AlreadyExists if `dir` exists.
absl::Status WriteSyntheticDataset(const std::string& dir, const SyntheticOptions& options);

// EnsureSyntheticDataset returns the folder under `cache_root` that holds the synthetic dataset for
// `options`, writing it first if it is not there yet. The folder name encodes every option, so
// different options never share a folder.
absl::StatusOr<std::string> EnsureSyntheticDataset(const std::string& cache_root,
                                                   const SyntheticOptions& options);

}  // namespace malaria::data

#endif  // MALARIA_DATA_SYNTHETIC_H_
