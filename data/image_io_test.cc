#include "data/image_io.h"

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "base/files.h"
#include "gtest/gtest.h"
#include "opencv2/core.hpp"
#include "opencv2/imgcodecs.hpp"

namespace malaria::data {
namespace {

std::string TempPath(const std::string& name) {
  return base::JoinPath(std::getenv("TEST_TMPDIR"), name);
}

// Writes `image` (OpenCV's BGR order) with OpenCV itself, in the format of the extension.
std::string WriteRaw(const cv::Mat& image, const std::string& name) {
  const std::string path = TempPath(name);
  EXPECT_TRUE(cv::imwrite(path, image));
  return path;
}

TEST(ImageIoTest, DecodesColourPngToRgb) {
  cv::Mat bgr(4, 5, CV_8UC3, cv::Scalar(10, 20, 30));  // B=10, G=20, R=30
  const absl::StatusOr<cv::Mat> rgb = DecodeImageFile(WriteRaw(bgr, "colour.png"));
  ASSERT_TRUE(rgb.ok()) << rgb.status();
  EXPECT_EQ(rgb->type(), CV_8UC3);
  EXPECT_EQ(rgb->rows, 4);
  EXPECT_EQ(rgb->cols, 5);
  EXPECT_EQ(rgb->at<cv::Vec3b>(2, 3), cv::Vec3b(30, 20, 10));
}

TEST(ImageIoTest, DecodesGrayscaleRgbaAnd16BitTo8BitRgb) {
  const absl::StatusOr<cv::Mat> gray =
      DecodeImageFile(WriteRaw(cv::Mat(3, 3, CV_8UC1, cv::Scalar(77)), "gray.png"));
  ASSERT_TRUE(gray.ok());
  EXPECT_EQ(gray->at<cv::Vec3b>(1, 1), cv::Vec3b(77, 77, 77));

  const absl::StatusOr<cv::Mat> rgba =
      DecodeImageFile(WriteRaw(cv::Mat(3, 3, CV_8UC4, cv::Scalar(1, 2, 3, 128)), "rgba.png"));
  ASSERT_TRUE(rgba.ok());
  EXPECT_EQ(rgba->type(), CV_8UC3);
  EXPECT_EQ(rgba->at<cv::Vec3b>(0, 0), cv::Vec3b(3, 2, 1));

  const absl::StatusOr<cv::Mat> deep = DecodeImageFile(
      WriteRaw(cv::Mat(3, 3, CV_16UC3, cv::Scalar(65535, 0, 257 * 100)), "deep.png"));
  ASSERT_TRUE(deep.ok());
  EXPECT_EQ(deep->type(), CV_8UC3);
  EXPECT_EQ(deep->at<cv::Vec3b>(0, 0), cv::Vec3b(100, 0, 255));
}

TEST(ImageIoTest, DecodesJpeg) {
  const absl::StatusOr<cv::Mat> jpg =
      DecodeImageFile(WriteRaw(cv::Mat(16, 16, CV_8UC3, cv::Scalar(0, 0, 200)), "red.jpg"));
  ASSERT_TRUE(jpg.ok());
  EXPECT_NEAR(jpg->at<cv::Vec3b>(8, 8)[0], 200, 4);
}

TEST(ImageIoTest, EmptyTruncatedAndNonImageFilesAreDataLossNamingTheFile) {
  const std::string empty = TempPath("empty.png");
  ASSERT_TRUE(base::WriteFileAtomically(empty, "").ok());
  absl::StatusOr<cv::Mat> r = DecodeImageFile(empty);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("empty.png"), std::string::npos);

  std::vector<unsigned char> png;
  cv::imencode(".png", cv::Mat(32, 32, CV_8UC3, cv::Scalar(1, 2, 3)), png);
  const std::string truncated = TempPath("truncated.png");
  ASSERT_TRUE(
      base::WriteFileAtomically(truncated, std::string(png.begin(), png.begin() + png.size() / 3))
          .ok());
  r = DecodeImageFile(truncated);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("truncated.png"), std::string::npos);

  const std::string text = TempPath("text.png");
  ASSERT_TRUE(base::WriteFileAtomically(text, "this is not a PNG").ok());
  r = DecodeImageFile(text);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("text.png"), std::string::npos);

  EXPECT_EQ(DecodeImageFile(TempPath("missing.png")).status().code(), absl::StatusCode::kNotFound);
}

// A corrupt PNG is reported by our message alone: libpng's own "libpng error:" line must not reach
// the terminal before it.
TEST(ImageIoTest, CorruptPngPrintsNothingOfItsOwn) {
  std::vector<unsigned char> png;
  cv::imencode(".png", cv::Mat(32, 32, CV_8UC3, cv::Scalar(1, 2, 3)), png);
  png[png.size() / 2] ^= 0xff;  // inside the image data: its checksum no longer matches
  const std::string corrupt = TempPath("corrupt.png");
  ASSERT_TRUE(base::WriteFileAtomically(corrupt, std::string(png.begin(), png.end())).ok());
  testing::internal::CaptureStderr();
  const absl::StatusOr<cv::Mat> r = DecodeImageFile(corrupt);
  const std::string printed = testing::internal::GetCapturedStderr();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("corrupt.png"), std::string::npos) << r.status();
  EXPECT_EQ(printed, "");
}

// A folder (or any file that is not a regular one) is an unreadable image with a clear message,
// not an exception.
TEST(ImageIoTest, AFolderIsAnUnreadableImageNamedAsSuch) {
  const std::string folder = TempPath("a_folder.png");
  std::filesystem::create_directories(folder);
  const absl::StatusOr<cv::Mat> r = DecodeImageFile(folder);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find(folder + " is a folder, not a file"), std::string::npos)
      << r.status();
}

TEST(ImageIoTest, ResizeShortSideKeepsAspectRatio) {
  const cv::Mat wide(100, 200, CV_8UC3);
  const cv::Mat small = ResizeShortSide(wide, 50);
  EXPECT_EQ(small.rows, 50);
  EXPECT_EQ(small.cols, 100);
  const cv::Mat same = ResizeShortSide(small, 50);
  EXPECT_EQ(same.data, small.data);
}

TEST(ImageIoTest, WritePngRoundTrips) {
  cv::Mat rgb(6, 7, CV_8UC3);
  cv::randu(rgb, 0, 256);
  const std::string path = TempPath("round.png");
  ASSERT_TRUE(WritePng(rgb, path).ok());
  const absl::StatusOr<cv::Mat> back = DecodeImageFile(path);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(cv::norm(rgb, *back, cv::NORM_INF), 0);
}

}  // namespace
}  // namespace malaria::data
