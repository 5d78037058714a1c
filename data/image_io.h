// Decoding cell images to 8-bit RGB, whatever their file format.
//
//   absl::StatusOr<cv::Mat> rgb = DecodeImageFile("cell.png");  // CV_8UC3, RGB order
//   cv::Mat small = ResizeShortSide(*rgb, 64);                   // shorter side 64 px
#ifndef MALARIA_DATA_IMAGE_IO_H_
#define MALARIA_DATA_IMAGE_IO_H_

#include <string>

#include "absl/status/statusor.h"
#include "opencv2/core/mat.hpp"

namespace malaria::data {

// DecodeImageFile reads a PNG, JPEG, BMP or TIFF file (grayscale, RGB, RGBA, 8 or 16 bit) and
// returns it as 8-bit, 3-channel RGB (CV_8UC3). Alpha is dropped; 16-bit values are scaled to 8
// bit. Returns NotFound for a missing file and DataLoss, naming the file, for an empty, truncated
// or otherwise undecodable one.
absl::StatusOr<cv::Mat> DecodeImageFile(const std::string& path);

// ToRgb8 converts a decoded OpenCV image (BGR order, any depth, 1, 3 or 4 channels) to CV_8UC3 RGB.
// Returns InvalidArgument for other channel counts.
absl::StatusOr<cv::Mat> ToRgb8(const cv::Mat& decoded);

// ResizeShortSide returns `image` scaled so its shorter side is `size` pixels, keeping the aspect
// ratio (area interpolation when shrinking, bilinear when growing).
cv::Mat ResizeShortSide(const cv::Mat& image, int size);

// WritePng writes an RGB (CV_8UC3) or grayscale image as PNG, atomically (temporary file, then
// rename). Returns an error naming the file if it cannot be written.
absl::Status WritePng(const cv::Mat& rgb, const std::string& path);

}  // namespace malaria::data

#endif  // MALARIA_DATA_IMAGE_IO_H_
