// Deterministic random numbers for splits, sampling orders and augmentation.
//
// The C++ standard leaves std::shuffle and the std distributions implementation-defined, so runs
// would differ between standard libraries. These are fully specified: SplitMix64 streams, keyed by
// (seed, purpose, epoch, index), so any sample's randomness depends only on its key and never on
// thread count or scheduling.
//
//   malaria::data::Rng rng(malaria::data::MixSeed(seed, kAugmentStream, epoch, index));
//   double angle = rng.Uniform(-10.0, 10.0);
#ifndef MALARIA_DATA_RANDOM_H_
#define MALARIA_DATA_RANDOM_H_

#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

namespace malaria::data {

// SplitMix64 finaliser: a bijective mix of 64 bits.
inline uint64_t Mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// MixSeed returns a seed derived from all of its arguments (order matters).
inline uint64_t MixSeed(uint64_t a, uint64_t b = 0, uint64_t c = 0, uint64_t d = 0) {
  return Mix64(Mix64(Mix64(Mix64(a) ^ b) ^ c) ^ d);
}
inline uint64_t MixSeed(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e) {
  return Mix64(MixSeed(a, b, c, d) ^ e);
}

// A SplitMix64 generator with the few distributions this project needs.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}

  // Next returns 64 uniformly distributed bits.
  uint64_t Next() {
    state_ += 0x9e3779b97f4a7c15ULL;
    uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  // Uniform01 returns a double in [0, 1) with 53 random bits.
  double Uniform01() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

  // Uniform returns a double in [lo, hi).
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform01(); }

  // LogUniform returns exp(Uniform(log lo, log hi)); lo and hi must be positive.
  double LogUniform(double lo, double hi) { return std::exp(Uniform(std::log(lo), std::log(hi))); }

  // Bernoulli returns true with probability p.
  bool Bernoulli(double p) { return Uniform01() < p; }

  // Below returns an integer in [0, n), n > 0, without modulo bias.
  uint64_t Below(uint64_t n) {
    const uint64_t limit = ~uint64_t{0} - (~uint64_t{0} % n);
    uint64_t x;
    do {
      x = Next();
    } while (x >= limit);
    return x % n;
  }

  // Normal returns a standard normal sample (Box-Muller).
  double Normal() {
    double u;
    do {
      u = Uniform01();
    } while (u <= 0);
    return std::sqrt(-2 * std::log(u)) * std::cos(2 * 3.14159265358979323846 * Uniform01());
  }

  // Gamma returns a Gamma(shape, 1) sample, shape > 0 (Marsaglia and Tsang's method; shapes below
  // 1 through Gamma(shape + 1) * U^(1 / shape)).
  double Gamma(double shape) {
    if (shape < 1) {
      double u;
      do {
        u = Uniform01();
      } while (u <= 0);
      return Gamma(shape + 1) * std::pow(u, 1 / shape);
    }
    const double d = shape - 1.0 / 3, c = 1 / std::sqrt(9 * d);
    while (true) {
      double x, v;
      do {
        x = Normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const double u = Uniform01();
      if (u < 1 - 0.0331 * x * x * x * x) return d * v;
      if (u > 0 && std::log(u) < 0.5 * x * x + d * (1 - v + std::log(v))) return d * v;
    }
  }

  // Beta returns a Beta(a, b) sample (a, b > 0) as Gamma(a) / (Gamma(a) + Gamma(b)).
  double Beta(double a, double b) {
    const double x = Gamma(a), y = Gamma(b);
    return x / (x + y);
  }

  // Shuffle permutes `v` uniformly (Fisher-Yates, from the back).
  template <typename T>
  void Shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i) {
      std::swap(v[i - 1], v[Below(i)]);
    }
  }

 private:
  uint64_t state_;
};

// Stream identifiers, so that different uses of one seed never share numbers.
enum RngStream : uint64_t {
  kSplitStream = 1,
  kOrderStream = 2,
  kAugmentStream = 3,
  kSubsetStream = 4,
  kSyntheticStream = 5,
  kInitStream = 6,        // LibTorch's generator before a model is built (initialisation)
  kTrainingStream = 7,    // LibTorch's generator during a stage's epochs (dropout)
  kFinderStream = 8,      // the learning-rate finder's sweep
  kEpochStream = 9,       // the loader epochs of a stage
  kMixupStream = 10,      // mixup's partners and mixing weights, per batch
  kPreciseBnStream = 11,  // the training batches PreciseBN recomputes statistics from
  kFlipStream = 12,       // each image's order of flips (alternating flips)
  kWhiteningStream = 13,  // the training images a whitening stem is computed from
};

// EpochKey names loader epoch `pass` of stage `stage` for `purpose` (kEpochStream for a stage's
// epochs, kFinderStream for the finder's passes over the data), so no two ever share an order or
// augmentation draws.
inline uint64_t EpochKey(RngStream purpose, uint64_t stage, uint64_t pass) {
  return MixSeed(purpose, stage, pass);
}

}  // namespace malaria::data

#endif  // MALARIA_DATA_RANDOM_H_
