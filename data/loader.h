// Decoded images and the batch loader that feeds training.
//
// ImageSource decodes every image once, in parallel, resized so its shorter side is the training
// size, and keeps it in memory (up to a cap), so epochs after the first never decode a PNG.
// Unreadable files are found in that first pass, reported by name, and left out. BatchLoader then
// augments and normalises batches on worker threads, a bounded number ahead of the consumer. The
// order of samples and every augmentation draw depend only on (seed, epoch, sample), so batches are
// identical whatever the thread count.
//
//   std::vector<BadImage> bad;
//   auto source = std::make_shared<ImageSource>(ImageSource::Load(dataset, 64, 2, 1 << 30, &bad));
//   BatchLoader train(source, split.train, options);
//   train.StartEpoch(0);
//   Batch batch;
//   while (*train.Next(&batch)) { ... batch.pixels (N x 3 x 64 x 64), batch.labels ... }
#ifndef MALARIA_DATA_LOADER_H_
#define MALARIA_DATA_LOADER_H_

#include <array>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "data/data_config.pb.h"
#include "data/dataset.h"
#include "opencv2/core/mat.hpp"

namespace malaria::data {

// A file that could not be decoded, with the reason.
struct BadImage {
  std::string path;
  std::string error;
};

// Every image of a dataset, decoded once and resized to a common shorter side.
class ImageSource {
 public:
  // Load decodes all of `dataset`'s images on `threads` threads (0: every core), resizing each so
  // its shorter side is `short_side`. Images are kept while their total size stays within
  // `cache_bytes`; later ones are decoded again when needed. Unreadable images are appended to
  // `bad` and left out of dataset().
  static ImageSource Load(const Dataset& dataset, int short_side, int threads, int64_t cache_bytes,
                          std::vector<BadImage>* bad);

  // dataset returns the readable examples, in the scanned order; indices refer to this list.
  const Dataset& dataset() const { return dataset_; }
  int short_side() const { return short_side_; }
  int64_t cached_bytes() const { return cached_bytes_; }

  // Get returns example `index` as CV_8UC3 RGB with shorter side short_side(); from memory when
  // cached, else decoded from its file.
  absl::StatusOr<cv::Mat> Get(int index) const;

 private:
  Dataset dataset_;
  std::vector<cv::Mat> images_;  // empty Mat: not cached
  int short_side_ = 0;
  int64_t cached_bytes_ = 0;
};

// ImageNet's per-channel statistics (RGB, pixels in [0, 1]): what torchvision's pretrained weights
// expect, and the normalisation a DataConfig gets when it names none.
inline constexpr std::array<float, 3> kImageNetMean = {0.485f, 0.456f, 0.406f};
inline constexpr std::array<float, 3> kImageNetStd = {0.229f, 0.224f, 0.225f};

// What a BatchLoader serves. BuildLoaderOptions (data/data_config.h) makes them from a DataConfig;
// the defaults here are that message's (an empty DataConfig builds exactly these, with its
// ImageNet normalisation).
struct LoaderOptions {
  int batch_size = DataConfig::default_instance().batch_size();
  int image_size = DataConfig::default_instance().image_size();
  bool shuffle = false;    // a new random order each epoch (training)
  bool drop_last = false;  // skip the last incomplete batch (training, as fastai)
  bool augment = false;
  AugmentationConfig augmentation;
  std::array<float, 3> mean = kImageNetMean;
  std::array<float, 3> std = kImageNetStd;
  int threads = DataConfig::default_instance().loader_threads();  // 0: every core
  // Batches prepared ahead of the consumer.
  int prefetch = DataConfig::default_instance().prefetch_batches();
  uint64_t seed = 0;
  // Data-parallel sharding: the epoch's order (the same in every process) is cut into global
  // batches of batch_size * world_size, and this process serves slice `rank` of each. So
  // world_size processes with batch B see exactly the batches one process with batch
  // B * world_size would, split between them. Without drop_last, the last global batch may leave
  // some ranks one batch fewer.
  int rank = 0;
  int world_size = 1;
};

// One batch: float pixels N x 3 x S x S (normalised), labels and the examples' dataset indices.
struct Batch {
  int size = 0;
  int image_size = 0;
  std::vector<float> pixels;
  std::vector<int64_t> labels;
  std::vector<int> indices;
};

class BatchLoader {
 public:
  // `indices` select the examples of source->dataset() this loader serves.
  BatchLoader(std::shared_ptr<const ImageSource> source, std::vector<int> indices,
              LoaderOptions options);
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  // NumBatches returns the batches per epoch (of this rank).
  int NumBatches() const;
  // NumExamples returns the examples served per epoch (of this rank; without those drop_last
  // skips).
  int NumExamples() const;
  const std::vector<int>& indices() const { return indices_; }
  const LoaderOptions& options() const { return options_; }

  // StartEpoch begins epoch `epoch` (which fixes the order and the augmentation draws); any
  // unfinished epoch is abandoned. Any 64-bit value names an epoch: the learner derives them
  // with EpochKey (data/random.h), so stages and finder passes never share one. With
  // `image_size` > 0 the epoch's images have that side instead of options().image_size
  // (progressive resizing); each epoch names its own. `pass` is the epoch's ordinal in its stage
  // (0, 1, 2, ...): alternating flips (AugmentationConfig.alternate_flips) cycle through it.
  void StartEpoch(uint64_t epoch, int image_size = 0, uint64_t pass = 0);

  // Next fills `batch` with the next batch of the epoch and returns true, or returns false at the
  // epoch's end. An image that cannot be read returns its error.
  absl::StatusOr<bool> Next(Batch* batch);

  // MakeBatch builds the batch of `members` for epoch `epoch`, pass `pass` (StartEpoch) on the
  // calling thread (what the workers run).
  absl::StatusOr<Batch> MakeBatch(uint64_t epoch, const std::vector<int>& members,
                                  uint64_t pass = 0) const;

 private:
  void StopWorkers();
  void Work();
  // Slices returns [begin, end) in the epoch's order of each of this rank's batches.
  std::vector<std::pair<int, int>> Slices() const;

  std::shared_ptr<const ImageSource> source_;
  std::vector<int> indices_;
  LoaderOptions options_;

  // The current epoch.
  uint64_t epoch_ = 0;
  uint64_t pass_ = 0;
  int image_size_ = 0;  // its images' side
  bool started_ = false;
  std::vector<std::vector<int>> batches_;  // dataset indices of each batch
  int next_to_make_ = 0;
  int next_to_return_ = 0;
  bool stop_ = false;
  std::map<int, absl::StatusOr<Batch>> ready_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::thread> workers_;
};

}  // namespace malaria::data

#endif  // MALARIA_DATA_LOADER_H_
