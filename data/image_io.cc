#include "data/image_io.h"

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/files.h"
#include "opencv2/core.hpp"
#include "opencv2/imgcodecs.hpp"
#include "opencv2/imgproc.hpp"
#include "png.h"

namespace malaria::data {

absl::StatusOr<cv::Mat> ToRgb8(const cv::Mat& decoded) {
  cv::Mat eight_bit;
  switch (decoded.depth()) {
    case CV_8U:
      eight_bit = decoded;
      break;
    case CV_16U:
      decoded.convertTo(eight_bit, CV_8U, 1.0 / 257.0);
      break;
    case CV_32F:
    case CV_64F:
      decoded.convertTo(eight_bit, CV_8U, 255.0);
      break;
    default:
      decoded.convertTo(eight_bit, CV_8U);
  }
  cv::Mat rgb;
  switch (eight_bit.channels()) {
    case 1:
      cv::cvtColor(eight_bit, rgb, cv::COLOR_GRAY2RGB);
      break;
    case 3:
      cv::cvtColor(eight_bit, rgb, cv::COLOR_BGR2RGB);
      break;
    case 4:
      cv::cvtColor(eight_bit, rgb, cv::COLOR_BGRA2RGB);
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("unsupported channel count ", eight_bit.channels()));
  }
  return rgb;
}

namespace {

// CheckPng decodes a PNG file's bytes with libpng's simplified API, which keeps its errors in the
// image (OpenCV lets libpng print them on stderr): a corrupt file gets our message, naming it, and
// nothing else on the terminal. OK for anything that is not a PNG file.
absl::Status CheckPng(const std::string& bytes, const std::string& path) {
  static constexpr unsigned char kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (bytes.size() < 8 || std::memcmp(bytes.data(), kSignature, 8) != 0) return absl::OkStatus();
  png_image image;
  std::memset(&image, 0, sizeof(image));
  image.version = PNG_IMAGE_VERSION;
  std::vector<png_byte> pixels;
  bool ok = png_image_begin_read_from_memory(&image, bytes.data(), bytes.size()) != 0;
  if (ok) {
    image.format = PNG_FORMAT_RGBA;
    pixels.resize(PNG_IMAGE_SIZE(image));
    ok = png_image_finish_read(&image, nullptr, pixels.data(), 0, nullptr) != 0;
  }
  if (ok) return absl::OkStatus();
  const std::string message = image.message;
  png_image_free(&image);
  return absl::DataLossError(absl::StrCat("cannot decode image ", path, " (", bytes.size(),
                                          " bytes): corrupt or truncated PNG (", message, ")"));
}

}  // namespace

absl::StatusOr<cv::Mat> DecodeImageFile(const std::string& path) {
  absl::StatusOr<std::string> bytes = base::ReadFile(path);
  if (!bytes.ok()) {
    if (absl::IsNotFound(bytes.status())) {
      return absl::NotFoundError(absl::StrCat("cannot open image ", path));
    }
    return absl::DataLossError(absl::StrCat("cannot read image: ", bytes.status().message()));
  }
  if (bytes->empty()) {
    return absl::DataLossError(absl::StrCat("image ", path, " is empty (0 bytes)"));
  }
  if (absl::Status s = CheckPng(*bytes, path); !s.ok()) return s;
  cv::Mat decoded;
  try {
    decoded = cv::imdecode(
        cv::Mat(1, static_cast<int>(bytes->size()), CV_8UC1, const_cast<char*>(bytes->data())),
        cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception& e) {
    return absl::DataLossError(absl::StrCat("cannot decode image ", path, ": ", e.what()));
  }
  if (decoded.empty() || decoded.rows == 0 || decoded.cols == 0) {
    return absl::DataLossError(absl::StrCat("cannot decode image ", path, " (", bytes->size(),
                                            " bytes): corrupt, truncated or not an image"));
  }
  absl::StatusOr<cv::Mat> rgb = ToRgb8(decoded);
  if (!rgb.ok()) {
    return absl::DataLossError(absl::StrCat("image ", path, ": ", rgb.status().message()));
  }
  return rgb;
}

cv::Mat ResizeShortSide(const cv::Mat& image, int size) {
  const int short_side = std::min(image.rows, image.cols);
  if (short_side == size) return image;
  const double scale = static_cast<double>(size) / short_side;
  const int rows = std::max(size, static_cast<int>(std::lround(image.rows * scale)));
  const int cols = std::max(size, static_cast<int>(std::lround(image.cols * scale)));
  cv::Mat out;
  cv::resize(image, out, cv::Size(cols, rows), 0, 0,
             scale < 1.0 ? cv::INTER_AREA : cv::INTER_LINEAR);
  return out;
}

absl::Status WritePng(const cv::Mat& image, const std::string& path) {
  cv::Mat bgr;
  if (image.channels() == 3) {
    cv::cvtColor(image, bgr, cv::COLOR_RGB2BGR);
  } else {
    bgr = image;
  }
  std::vector<unsigned char> bytes;
  try {
    if (!cv::imencode(".png", bgr, bytes)) {
      return absl::InternalError(absl::StrCat("cannot encode PNG for ", path));
    }
  } catch (const cv::Exception& e) {
    return absl::InternalError(absl::StrCat("cannot encode PNG for ", path, ": ", e.what()));
  }
  return base::WriteFileAtomically(
      path, absl::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

}  // namespace malaria::data
