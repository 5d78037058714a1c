#include "data/loader.h"

#include <algorithm>
#include <atomic>
#include <utility>

#include "data/image_io.h"
#include "data/random.h"
#include "data/transforms.h"

namespace malaria::data {
namespace {

int ResolveThreads(int threads) {
  return threads > 0 ? threads : std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace

ImageSource ImageSource::Load(const Dataset& dataset, int short_side, int threads,
                              int64_t cache_bytes, std::vector<BadImage>* bad) {
  const int n = static_cast<int>(dataset.examples.size());
  std::vector<cv::Mat> decoded(n);
  std::vector<std::string> errors(n);
  std::atomic<int> next{0};
  std::atomic<int64_t> used{0};
  auto work = [&]() {
    for (int i = next++; i < n; i = next++) {
      absl::StatusOr<cv::Mat> image = DecodeImageFile(dataset.examples[i].path);
      if (!image.ok()) {
        errors[i] = std::string(image.status().message());
        continue;
      }
      cv::Mat resized = ResizeShortSide(*image, short_side);
      const int64_t bytes = static_cast<int64_t>(resized.total() * resized.elemSize());
      if (used.fetch_add(bytes) + bytes <= cache_bytes) {
        decoded[i] = std::move(resized);
      } else {
        used.fetch_sub(bytes);
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < ResolveThreads(threads); ++t) pool.emplace_back(work);
  for (std::thread& t : pool) t.join();

  ImageSource source;
  source.short_side_ = short_side;
  source.dataset_.root = dataset.root;
  source.dataset_.classes = dataset.classes;
  source.dataset_.ignored_files = dataset.ignored_files;
  for (int i = 0; i < n; ++i) {
    if (!errors[i].empty()) {
      if (bad != nullptr) bad->push_back({dataset.examples[i].path, errors[i]});
      continue;
    }
    if (!decoded[i].empty()) source.cached_bytes_ += decoded[i].total() * decoded[i].elemSize();
    source.dataset_.examples.push_back(dataset.examples[i]);
    source.images_.push_back(std::move(decoded[i]));
  }
  return source;
}

absl::StatusOr<cv::Mat> ImageSource::Get(int index) const {
  if (!images_[index].empty()) return images_[index];
  absl::StatusOr<cv::Mat> image = DecodeImageFile(dataset_.examples[index].path);
  if (!image.ok()) return image.status();
  return ResizeShortSide(*image, short_side_);
}

BatchLoader::BatchLoader(std::shared_ptr<const ImageSource> source, std::vector<int> indices,
                         LoaderOptions options)
    : source_(std::move(source)),
      indices_(std::move(indices)),
      options_(std::move(options)),
      image_size_(options_.image_size) {}

BatchLoader::~BatchLoader() { StopWorkers(); }

std::vector<std::pair<int, int>> BatchLoader::Slices() const {
  const int n = static_cast<int>(indices_.size());
  const int b = options_.batch_size;
  const int world = std::max(1, options_.world_size);
  const int global = b * world;
  const int num_global = options_.drop_last ? n / global : (n + global - 1) / global;
  std::vector<std::pair<int, int>> slices;
  for (int g = 0; g < num_global; ++g) {
    const int begin = g * global + options_.rank * b;
    const int end = std::min(begin + b, n);
    if (begin < end) slices.emplace_back(begin, end);
  }
  return slices;
}

int BatchLoader::NumBatches() const { return static_cast<int>(Slices().size()); }

int BatchLoader::NumExamples() const {
  int n = 0;
  for (const auto& [begin, end] : Slices()) n += end - begin;
  return n;
}

void BatchLoader::StopWorkers() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : workers_) t.join();
  workers_.clear();
}

void BatchLoader::StartEpoch(uint64_t epoch, int image_size, uint64_t pass) {
  StopWorkers();
  image_size_ = image_size > 0 ? image_size : options_.image_size;
  std::vector<int> order = indices_;
  if (options_.shuffle) {
    Rng rng(MixSeed(options_.seed, kOrderStream, epoch));
    rng.Shuffle(order);
  }
  batches_.clear();
  for (const auto& [begin, end] : Slices()) {
    batches_.emplace_back(order.begin() + begin, order.begin() + end);
  }
  const int num_batches = static_cast<int>(batches_.size());
  epoch_ = epoch;
  pass_ = pass;
  started_ = true;
  next_to_make_ = 0;
  next_to_return_ = 0;
  ready_.clear();
  stop_ = false;
  const int threads = std::min(ResolveThreads(options_.threads), std::max(1, num_batches));
  for (int t = 0; t < threads; ++t) workers_.emplace_back([this] { Work(); });
}

void BatchLoader::Work() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [this] {
      return stop_ || next_to_make_ >= static_cast<int>(batches_.size()) ||
             next_to_make_ < next_to_return_ + std::max(1, options_.prefetch);
    });
    if (stop_ || next_to_make_ >= static_cast<int>(batches_.size())) return;
    const int b = next_to_make_++;
    const uint64_t epoch = epoch_;
    const uint64_t pass = pass_;
    lock.unlock();
    absl::StatusOr<Batch> batch = MakeBatch(epoch, batches_[b], pass);
    lock.lock();
    ready_.emplace(b, std::move(batch));
    cv_.notify_all();
  }
}

absl::StatusOr<bool> BatchLoader::Next(Batch* batch) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!started_) return absl::FailedPreconditionError("BatchLoader::Next before StartEpoch");
  if (next_to_return_ >= static_cast<int>(batches_.size())) return false;
  cv_.wait(lock, [this] { return ready_.count(next_to_return_) > 0; });
  auto it = ready_.find(next_to_return_);
  absl::StatusOr<Batch> result = std::move(it->second);
  ready_.erase(it);
  ++next_to_return_;
  lock.unlock();
  cv_.notify_all();
  if (!result.ok()) return result.status();
  *batch = std::move(*result);
  return true;
}

absl::StatusOr<Batch> BatchLoader::MakeBatch(uint64_t epoch, const std::vector<int>& members,
                                             uint64_t pass) const {
  const int s = image_size_;
  const size_t plane = static_cast<size_t>(3) * s * s;
  Batch batch;
  batch.size = static_cast<int>(members.size());
  batch.image_size = s;
  batch.pixels.resize(plane * members.size());
  batch.labels.reserve(members.size());
  batch.indices = members;
  for (size_t i = 0; i < members.size(); ++i) {
    const int index = members[i];
    absl::StatusOr<cv::Mat> image = source_->Get(index);
    if (!image.ok()) return image.status();
    cv::Mat out;
    if (options_.augment) {
      Rng rng(MixSeed(options_.seed, kAugmentStream, epoch, static_cast<uint64_t>(index)));
      AugmentParams params = SampleAugment(options_.augmentation, rng);
      if (options_.augmentation.alternate_flips()) {
        params.dihedral = AlternatingDihedral(options_.augmentation, options_.seed,
                                              static_cast<uint64_t>(index), pass);
      }
      out = Augment(*image, s, params);
    } else {
      out = CenterCrop(*image, s);
    }
    ToNormalizedChw(out, options_.mean, options_.std, batch.pixels.data() + i * plane);
    batch.labels.push_back(source_->dataset().examples[index].label);
  }
  return batch;
}

}  // namespace malaria::data
