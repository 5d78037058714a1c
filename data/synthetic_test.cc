#include "data/synthetic.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>

#include "base/files.h"
#include "data/dataset.h"
#include "data/image_io.h"
#include "gtest/gtest.h"
#include "opencv2/core.hpp"
#include "opencv2/imgproc.hpp"

namespace malaria::data {
namespace {

// Dark purple (chromatin-coloured) pixels well inside the cell: the cell's mask (non-black
// pixels) eroded by a tenth of the crop, so a platelet overlapping the edge does not count.
int DarkPurpleInside(const cv::Mat& rgb) {
  cv::Mat channels[3];
  cv::split(rgb, channels);
  cv::Mat inside = channels[0] > 60;
  const int k = std::max(3, std::min(rgb.rows, rgb.cols) / 5);
  cv::erode(inside, inside, cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(k, k)));
  int n = 0;
  for (int y = 0; y < rgb.rows; ++y) {
    for (int x = 0; x < rgb.cols; ++x) {
      const cv::Vec3b v = rgb.at<cv::Vec3b>(y, x);
      n += inside.at<uchar>(y, x) && v[1] < 100 && v[2] > v[1] + 30;
    }
  }
  return n;
}

TEST(SyntheticTest, SameSeedSamePixelsOtherSeedOtherPixels) {
  SyntheticOptions options;
  const cv::Mat a = RenderSyntheticCell(true, 42, options);
  const cv::Mat b = RenderSyntheticCell(true, 42, options);
  const cv::Mat c = RenderSyntheticCell(true, 43, options);
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(cv::norm(a, b, cv::NORM_INF), 0);
  EXPECT_TRUE(a.size() != c.size() || cv::norm(a, c, cv::NORM_INF) > 0);
}

TEST(SyntheticTest, CellsOnBlackBackgroundWithinSizeRange) {
  SyntheticOptions options;
  options.image_size = 100;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    const cv::Mat cell = RenderSyntheticCell(seed % 2 == 0, seed, options);
    EXPECT_GE(std::min(cell.rows, cell.cols), 76);
    EXPECT_LE(std::max(cell.rows, cell.cols), 127);
    EXPECT_EQ(cell.at<cv::Vec3b>(0, 0), cv::Vec3b(0, 0, 0));
    const cv::Vec3b centre = cell.at<cv::Vec3b>(cell.rows / 2, cell.cols / 2);
    EXPECT_GT(centre[0], 120);  // pink cytoplasm, red channel high
  }
}

TEST(SyntheticTest, ParasitesAreDarkPurpleAndHardNegativesAreNot) {
  SyntheticOptions options;
  options.hard_negative_fraction = 1.0;  // every uninfected cell carries a speck or a platelet
  int parasitized_dark = 0, uninfected_dark = 0;
  const int n = 100;
  for (int i = 0; i < n; ++i) {
    parasitized_dark += DarkPurpleInside(RenderSyntheticCell(true, 1000 + i, options)) > 0;
    uninfected_dark += DarkPurpleInside(RenderSyntheticCell(false, 2000 + i, options)) > 0;
  }
  EXPECT_GT(parasitized_dark, 0.95 * n);
  EXPECT_LT(uninfected_dark, 0.05 * n);
}

// The mean green value of the 10 darkest-green pixels inside the cell: the chromatin's darkness.
double DarkestGreenInside(const cv::Mat& rgb) {
  cv::Mat channels[3];
  cv::split(rgb, channels);
  cv::Mat inside = channels[0] > 60;
  const int k = std::max(3, std::min(rgb.rows, rgb.cols) / 5);
  cv::erode(inside, inside, cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(k, k)));
  std::vector<int> greens;
  for (int y = 0; y < rgb.rows; ++y) {
    for (int x = 0; x < rgb.cols; ++x) {
      if (inside.at<uchar>(y, x)) greens.push_back(rgb.at<cv::Vec3b>(y, x)[1]);
    }
  }
  std::sort(greens.begin(), greens.end());
  double sum = 0;
  for (int i = 0; i < 10; ++i) sum += greens[i];
  return sum / 10;
}

TEST(SyntheticTest, DifficultyFadesTheParasites) {
  SyntheticOptions easy, hard;
  easy.difficulty = 0;
  hard.difficulty = 1;
  double easy_green = 0, hard_green = 0;
  for (int i = 0; i < 50; ++i) {
    easy_green += DarkestGreenInside(RenderSyntheticCell(true, 3000 + i, easy)) / 50;
    hard_green += DarkestGreenInside(RenderSyntheticCell(true, 3000 + i, hard)) / 50;
  }
  EXPECT_LT(easy_green + 30, hard_green) << "easy " << easy_green << ", hard " << hard_green;
}

TEST(SyntheticTest, WritesNihLayoutWithPatientGroups) {
  const std::string dir = base::JoinPath(std::getenv("TEST_TMPDIR"), "synthetic");
  std::filesystem::remove_all(dir);
  SyntheticOptions options;
  options.num_images = 41;
  options.image_size = 32;
  options.num_patients = 8;
  options.seed = 5;
  ASSERT_TRUE(WriteSyntheticDataset(dir, options).ok());
  const absl::StatusOr<Dataset> ds = ScanImageFolder(dir);
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ(ds->classes, (std::vector<std::string>{"Parasitized", "Uninfected"}));
  EXPECT_EQ(ds->CountPerClass(), (std::vector<int>{21, 20}));
  std::set<std::string> parasitized_groups, uninfected_groups;
  for (const Example& e : ds->examples) {
    ASSERT_FALSE(e.group.empty()) << e.path;
    (e.label == 0 ? parasitized_groups : uninfected_groups).insert(e.group);
    ASSERT_TRUE(DecodeImageFile(e.path).ok()) << e.path;
  }
  // Healthy donors (groups 4 and 8: slides C103, C107) only have uninfected cells.
  EXPECT_EQ(parasitized_groups.count("C103"), 0u);
  EXPECT_EQ(uninfected_groups.count("C103"), 1u);
  EXPECT_EQ(parasitized_groups.size(), 6u);
  EXPECT_EQ(uninfected_groups.size(), 8u);
  // No partial folder is left behind, and an existing folder is never overwritten.
  int entries = 0;
  for (const auto& entry : std::filesystem::directory_iterator(std::getenv("TEST_TMPDIR"))) {
    EXPECT_EQ(entry.path().filename().string().find(".partial"), std::string::npos);
    ++entries;
  }
  EXPECT_GE(entries, 1);
  EXPECT_EQ(WriteSyntheticDataset(dir, options).code(), absl::StatusCode::kAlreadyExists);
}

TEST(SyntheticTest, EnsureReusesTheCachedFolder) {
  const std::string cache = base::JoinPath(std::getenv("TEST_TMPDIR"), "cache");
  std::filesystem::remove_all(cache);
  SyntheticOptions options;
  options.num_images = 4;
  options.image_size = 24;
  const absl::StatusOr<std::string> first = EnsureSyntheticDataset(cache, options);
  ASSERT_TRUE(first.ok()) << first.status();
  const auto stamp = std::filesystem::last_write_time(*first);
  const absl::StatusOr<std::string> second = EnsureSyntheticDataset(cache, options);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*first, *second);
  EXPECT_EQ(stamp, std::filesystem::last_write_time(*second));
  options.seed = 1;
  EXPECT_NE(*EnsureSyntheticDataset(cache, options), *first);
}

}  // namespace
}  // namespace malaria::data
