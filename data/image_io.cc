#include "data/image_io.h"

#include <cmath>
#include <fstream>
#include <iterator>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/files.h"
#include "opencv2/core.hpp"
#include "opencv2/imgcodecs.hpp"
#include "opencv2/imgproc.hpp"

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

absl::StatusOr<cv::Mat> DecodeImageFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open image ", path));
  std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)),
                                   std::istreambuf_iterator<char>());
  if (bytes.empty())
    return absl::DataLossError(absl::StrCat("image ", path, " is empty (0 bytes)"));
  cv::Mat decoded;
  try {
    decoded = cv::imdecode(bytes, cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception& e) {
    return absl::DataLossError(absl::StrCat("cannot decode image ", path, ": ", e.what()));
  }
  if (decoded.empty() || decoded.rows == 0 || decoded.cols == 0) {
    return absl::DataLossError(absl::StrCat("cannot decode image ", path, " (", bytes.size(),
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
