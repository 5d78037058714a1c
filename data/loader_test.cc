#include "data/loader.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <set>
#include <string>

#include "base/files.h"
#include "data/dataset.h"
#include "data/synthetic.h"
#include "gtest/gtest.h"

namespace malaria::data {
namespace {

class LoaderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(base::JoinPath(std::getenv("TEST_TMPDIR"), "cells"));
    std::filesystem::remove_all(*dir_);
    SyntheticOptions options;
    options.num_images = 50;
    options.image_size = 40;
    ASSERT_TRUE(WriteSyntheticDataset(*dir_, options).ok());
  }
  static void TearDownTestSuite() { delete dir_; }

  std::shared_ptr<ImageSource> Source(std::vector<BadImage>* bad = nullptr) {
    const absl::StatusOr<Dataset> ds = ScanImageFolder(*dir_);
    EXPECT_TRUE(ds.ok()) << ds.status();
    return std::make_shared<ImageSource>(ImageSource::Load(*ds, 32, 2, int64_t{1} << 30, bad));
  }

  static std::vector<Batch> Epoch(BatchLoader& loader, int epoch) {
    std::vector<Batch> out;
    loader.StartEpoch(epoch);
    Batch b;
    while (true) {
      absl::StatusOr<bool> more = loader.Next(&b);
      EXPECT_TRUE(more.ok()) << more.status();
      if (!more.ok() || !*more) break;
      out.push_back(b);
    }
    return out;
  }

  static std::string* dir_;
};
std::string* LoaderTest::dir_ = nullptr;

LoaderOptions TrainOptions(int threads) {
  LoaderOptions o;
  o.batch_size = 8;
  o.image_size = 28;
  o.shuffle = true;
  o.drop_last = true;
  o.augment = true;
  o.threads = threads;
  o.prefetch = 2;
  o.seed = 99;
  return o;
}

TEST_F(LoaderTest, BatchesHaveShapeLabelsAndDropLast) {
  std::shared_ptr<ImageSource> source = Source();
  ASSERT_EQ(source->dataset().examples.size(), 50u);
  std::vector<int> indices;
  for (int i = 0; i < 50; ++i) indices.push_back(i);
  BatchLoader loader(source, indices, TrainOptions(2));
  EXPECT_EQ(loader.NumBatches(), 6);
  EXPECT_EQ(loader.NumExamples(), 48);
  const std::vector<Batch> batches = Epoch(loader, 0);
  ASSERT_EQ(batches.size(), 6u);
  std::set<int> seen;
  for (const Batch& b : batches) {
    EXPECT_EQ(b.size, 8);
    EXPECT_EQ(b.pixels.size(), 8u * 3 * 28 * 28);
    for (int i = 0; i < b.size; ++i) {
      EXPECT_EQ(b.labels[i], source->dataset().examples[b.indices[i]].label);
      EXPECT_TRUE(seen.insert(b.indices[i]).second);
    }
  }
}

TEST_F(LoaderTest, SameSeedSameBatchesWhateverTheThreadCount) {
  std::shared_ptr<ImageSource> source = Source();
  std::vector<int> indices;
  for (int i = 0; i < 50; ++i) indices.push_back(i);
  BatchLoader one(source, indices, TrainOptions(1));
  BatchLoader three(source, indices, TrainOptions(3));
  const std::vector<Batch> a = Epoch(one, 4), b = Epoch(three, 4);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].indices, b[i].indices);
    EXPECT_EQ(a[i].pixels, b[i].pixels);
  }
  // Another epoch: another order and other augmentations.
  const std::vector<Batch> c = Epoch(one, 5);
  EXPECT_NE(a[0].indices, c[0].indices);
}

// Progressive resizing: an epoch started with its own image size serves exactly what a loader
// built for that size serves (same order, same augmentation draws, same pixels), and the next
// epoch without one is back at the options' size.
TEST_F(LoaderTest, AnEpochCanNameItsOwnImageSize) {
  std::shared_ptr<ImageSource> source = Source();
  std::vector<int> indices;
  for (int i = 0; i < 50; ++i) indices.push_back(i);
  BatchLoader loader(source, indices, TrainOptions(2));
  LoaderOptions small_options = TrainOptions(2);
  small_options.image_size = 20;
  BatchLoader small(source, indices, small_options);
  loader.StartEpoch(3, 20);
  const std::vector<Batch> expected = Epoch(small, 3);
  ASSERT_EQ(expected.size(), 6u);
  for (const Batch& want : expected) {
    Batch got;
    absl::StatusOr<bool> more = loader.Next(&got);
    ASSERT_TRUE(more.ok() && *more);
    EXPECT_EQ(got.image_size, 20);
    EXPECT_EQ(got.pixels.size(), 8u * 3 * 20 * 20);
    EXPECT_EQ(got.indices, want.indices);
    EXPECT_EQ(got.pixels, want.pixels);
  }
  const std::vector<Batch> after = Epoch(loader, 4);
  ASSERT_FALSE(after.empty());
  EXPECT_EQ(after[0].image_size, 28);
  EXPECT_EQ(after[0].pixels.size(), 8u * 3 * 28 * 28);
}

TEST_F(LoaderTest, RanksSplitTheBatchesOfOneProcessWithTheirCombinedBatchSize) {
  std::shared_ptr<ImageSource> source = Source();
  std::vector<int> indices;
  for (int i = 0; i < 50; ++i) indices.push_back(i);
  LoaderOptions whole = TrainOptions(2);
  whole.batch_size = 16;
  BatchLoader one(source, indices, whole);
  std::vector<std::vector<Batch>> ranks;
  for (int r = 0; r < 2; ++r) {
    LoaderOptions o = TrainOptions(2);
    o.rank = r;
    o.world_size = 2;
    BatchLoader loader(source, indices, o);
    EXPECT_EQ(loader.NumBatches(), 3);  // 50 / 16 global batches, drop_last
    EXPECT_EQ(loader.NumExamples(), 24);
    ranks.push_back(Epoch(loader, 7));
  }
  const std::vector<Batch> a = Epoch(one, 7);
  ASSERT_EQ(a.size(), 3u);
  for (size_t b = 0; b < a.size(); ++b) {
    // Rank 0 has the first half of each global batch, rank 1 the second, pixels and all.
    std::vector<int> joined = ranks[0][b].indices;
    joined.insert(joined.end(), ranks[1][b].indices.begin(), ranks[1][b].indices.end());
    EXPECT_EQ(joined, a[b].indices);
    std::vector<float> pixels = ranks[0][b].pixels;
    pixels.insert(pixels.end(), ranks[1][b].pixels.begin(), ranks[1][b].pixels.end());
    EXPECT_EQ(pixels, a[b].pixels);
  }
  // Validation (no drop_last): every example once, over the ranks; the short last global batch
  // leaves rank 1 without a batch.
  LoaderOptions v;
  v.batch_size = 4;
  v.image_size = 32;
  v.world_size = 2;
  std::vector<int> seen;
  for (int r = 0; r < 2; ++r) {
    v.rank = r;
    BatchLoader loader(source, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, v);
    EXPECT_EQ(loader.NumBatches(), r == 0 ? 2 : 1);
    for (const Batch& b : Epoch(loader, 0))
      seen.insert(seen.end(), b.indices.begin(), b.indices.end());
  }
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
}

TEST_F(LoaderTest, ValidationKeepsOrderAndLastBatch) {
  std::shared_ptr<ImageSource> source = Source();
  LoaderOptions o;
  o.batch_size = 4;
  o.image_size = 32;
  BatchLoader loader(source, {0, 1, 2, 3, 4, 5}, o);
  const std::vector<Batch> batches = Epoch(loader, 0);
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[0].indices, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(batches[1].indices, (std::vector<int>{4, 5}));
  // Unaugmented and deterministic: the same pixels every epoch.
  EXPECT_EQ(Epoch(loader, 1)[1].pixels, batches[1].pixels);
}

TEST_F(LoaderTest, UnreadableImagesAreReportedByNameAndLeftOut) {
  const std::string bad_path = *dir_ + "/Uninfected/C999_corrupt_cell_1.png";
  ASSERT_TRUE(base::WriteFileAtomically(bad_path, "not a png").ok());
  std::vector<BadImage> bad;
  std::shared_ptr<ImageSource> source = Source(&bad);
  std::filesystem::remove(bad_path);
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_EQ(bad[0].path, bad_path);
  EXPECT_NE(bad[0].error.find("C999_corrupt_cell_1.png"), std::string::npos);
  EXPECT_EQ(source->dataset().examples.size(), 50u);
}

TEST_F(LoaderTest, CacheCapDecodesTheRestOnDemand) {
  const absl::StatusOr<Dataset> ds = ScanImageFolder(*dir_);
  auto capped =
      std::make_shared<ImageSource>(ImageSource::Load(*ds, 32, 2, 10 * 32 * 40 * 3, nullptr));
  auto full = Source();
  EXPECT_LT(capped->cached_bytes(), full->cached_bytes());
  LoaderOptions o;
  o.batch_size = 50;
  o.image_size = 32;
  std::vector<int> all;
  for (int i = 0; i < 50; ++i) all.push_back(i);
  BatchLoader a(capped, all, o), b(full, all, o);
  EXPECT_EQ(Epoch(a, 0)[0].pixels, Epoch(b, 0)[0].pixels);
}

TEST_F(LoaderTest, AlternatingFlipsMirrorEachImageFromOnePassToTheNext) {
  LoaderOptions o;
  o.batch_size = 50;
  o.image_size = 32;
  o.augment = true;
  o.seed = 5;
  o.augmentation.set_max_rotate(0);
  o.augmentation.set_max_zoom(1);
  o.augmentation.set_max_warp(0);
  o.augmentation.set_max_lighting(0);
  o.augmentation.set_alternate_flips(true);
  LoaderOptions unflipped = o;
  unflipped.augmentation.set_do_flip(false);
  unflipped.augmentation.set_alternate_flips(false);
  std::vector<int> all;
  for (int i = 0; i < 50; ++i) all.push_back(i);
  // One epoch key (so the random crops are the same), three passes; and the same crops unflipped.
  auto pixels = [&](const LoaderOptions& options, uint64_t pass) {
    BatchLoader loader(Source(), all, options);
    loader.StartEpoch(11, 0, pass);
    Batch b;
    EXPECT_TRUE(*loader.Next(&b));
    return b.pixels;
  };
  const std::vector<float> p0 = pixels(o, 0), p1 = pixels(o, 1), p2 = pixels(o, 2);
  const std::vector<float> plain = pixels(unflipped, 0);
  EXPECT_EQ(p0, p2);
  const int s = 32;
  auto mirrored = [&](const std::vector<float>& a, const std::vector<float>& b, int i) {
    for (int c = 0; c < 3; ++c) {
      for (int y = 0; y < s; ++y) {
        const size_t row = ((static_cast<size_t>(i) * 3 + c) * s + y) * s;
        for (int x = 0; x < s; ++x) {
          if (std::abs(a[row + x] - b[row + s - 1 - x]) > 1e-5) return false;
        }
      }
    }
    return true;
  };
  const size_t image = static_cast<size_t>(3) * s * s;
  int flipped_first = 0;
  for (int i = 0; i < 50; ++i) {
    EXPECT_TRUE(mirrored(p0, p1, i)) << "image " << i;
    const bool first_plain =
        std::equal(p0.begin() + i * image, p0.begin() + (i + 1) * image, plain.begin() + i * image);
    EXPECT_TRUE(first_plain || mirrored(p0, plain, i)) << "image " << i;
    flipped_first += !first_plain;
  }
  // Each image's first pass is its own draw: some start flipped, some not.
  EXPECT_GT(flipped_first, 10);
  EXPECT_LT(flipped_first, 40);
}

}  // namespace
}  // namespace malaria::data
