#include "base/cpu_peak.h"

#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <thread>

namespace malaria::base {
namespace {

using Clock = std::chrono::steady_clock;

// Twelve independent chains of acc = acc * a + b (a = 0.5, b = 1), 256 bits wide.
__attribute__((target("avx2,fma"))) double Avx2Kernel(int64_t iterations) {
  const __m256 a = _mm256_set1_ps(0.5f), b = _mm256_set1_ps(1.0f);
  __m256 c0 = _mm256_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0,
         c8 = c0, c9 = c0, c10 = c0, c11 = c0;
  for (int64_t i = 0; i < iterations; ++i) {
    c0 = _mm256_fmadd_ps(c0, a, b);
    c1 = _mm256_fmadd_ps(c1, a, b);
    c2 = _mm256_fmadd_ps(c2, a, b);
    c3 = _mm256_fmadd_ps(c3, a, b);
    c4 = _mm256_fmadd_ps(c4, a, b);
    c5 = _mm256_fmadd_ps(c5, a, b);
    c6 = _mm256_fmadd_ps(c6, a, b);
    c7 = _mm256_fmadd_ps(c7, a, b);
    c8 = _mm256_fmadd_ps(c8, a, b);
    c9 = _mm256_fmadd_ps(c9, a, b);
    c10 = _mm256_fmadd_ps(c10, a, b);
    c11 = _mm256_fmadd_ps(c11, a, b);
  }
  const __m256 sum =
      _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(_mm256_add_ps(c0, c1), _mm256_add_ps(c2, c3)),
                                  _mm256_add_ps(_mm256_add_ps(c4, c5), _mm256_add_ps(c6, c7))),
                    _mm256_add_ps(_mm256_add_ps(c8, c9), _mm256_add_ps(c10, c11)));
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, sum);
  double total = 0;
  for (float v : lanes) total += v;
  return total;
}

// The same, 512 bits wide.
__attribute__((target("avx512f"))) double Avx512Kernel(int64_t iterations) {
  const __m512 a = _mm512_set1_ps(0.5f), b = _mm512_set1_ps(1.0f);
  __m512 c0 = _mm512_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0,
         c8 = c0, c9 = c0, c10 = c0, c11 = c0;
  for (int64_t i = 0; i < iterations; ++i) {
    c0 = _mm512_fmadd_ps(c0, a, b);
    c1 = _mm512_fmadd_ps(c1, a, b);
    c2 = _mm512_fmadd_ps(c2, a, b);
    c3 = _mm512_fmadd_ps(c3, a, b);
    c4 = _mm512_fmadd_ps(c4, a, b);
    c5 = _mm512_fmadd_ps(c5, a, b);
    c6 = _mm512_fmadd_ps(c6, a, b);
    c7 = _mm512_fmadd_ps(c7, a, b);
    c8 = _mm512_fmadd_ps(c8, a, b);
    c9 = _mm512_fmadd_ps(c9, a, b);
    c10 = _mm512_fmadd_ps(c10, a, b);
    c11 = _mm512_fmadd_ps(c11, a, b);
  }
  const __m512 sum =
      _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(_mm512_add_ps(c0, c1), _mm512_add_ps(c2, c3)),
                                  _mm512_add_ps(_mm512_add_ps(c4, c5), _mm512_add_ps(c6, c7))),
                    _mm512_add_ps(_mm512_add_ps(c8, c9), _mm512_add_ps(c10, c11)));
  return _mm512_reduce_add_ps(sum);
}

// Twelve chains of acc += x . y over pairs of bfloat16 ones (0x3f80): each lane gains 2 per
// instruction, exactly, in float32 up to 2^24.
__attribute__((target("avx512f,avx512bf16"))) double Avx512Bf16Kernel(int64_t iterations) {
  const __m512bh x = (__m512bh)_mm512_set1_epi16(0x3f80);
  __m512 c0 = _mm512_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0,
         c8 = c0, c9 = c0, c10 = c0, c11 = c0;
  for (int64_t i = 0; i < iterations; ++i) {
    c0 = _mm512_dpbf16_ps(c0, x, x);
    c1 = _mm512_dpbf16_ps(c1, x, x);
    c2 = _mm512_dpbf16_ps(c2, x, x);
    c3 = _mm512_dpbf16_ps(c3, x, x);
    c4 = _mm512_dpbf16_ps(c4, x, x);
    c5 = _mm512_dpbf16_ps(c5, x, x);
    c6 = _mm512_dpbf16_ps(c6, x, x);
    c7 = _mm512_dpbf16_ps(c7, x, x);
    c8 = _mm512_dpbf16_ps(c8, x, x);
    c9 = _mm512_dpbf16_ps(c9, x, x);
    c10 = _mm512_dpbf16_ps(c10, x, x);
    c11 = _mm512_dpbf16_ps(c11, x, x);
  }
  const __m512 sum =
      _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(_mm512_add_ps(c0, c1), _mm512_add_ps(c2, c3)),
                                  _mm512_add_ps(_mm512_add_ps(c4, c5), _mm512_add_ps(c6, c7))),
                    _mm512_add_ps(_mm512_add_ps(c8, c9), _mm512_add_ps(c10, c11)));
  // Summed in double: twelve chains of 16 lanes each, every lane exact.
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, sum);
  double total = 0;
  for (float v : lanes) total += v;
  return total;
}

// Times `iterations` of the kernel on `threads` threads at once.
double TimeKernel(PeakUnit unit, int threads, int64_t iterations) {
  std::vector<std::thread> workers;
  std::vector<double> sinks(threads);
  const Clock::time_point start = Clock::now();
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back(
        [&sinks, t, unit, iterations] { sinks[t] = RunPeakKernel(unit, iterations); });
  }
  for (std::thread& w : workers) w.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  volatile double sink = 0;
  for (double s : sinks) sink = sink + s;
  return seconds;
}

}  // namespace

bool PeakUnitSupported(PeakUnit unit) {
  __builtin_cpu_init();
  switch (unit) {
    case PeakUnit::kAvx2Fp32:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case PeakUnit::kAvx512Fp32:
      return __builtin_cpu_supports("avx512f");
    case PeakUnit::kAvx512Bf16Dot:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bf16");
  }
  return false;
}

std::string PeakUnitName(PeakUnit unit) {
  switch (unit) {
    case PeakUnit::kAvx2Fp32:
      return "avx2 fp32 fma";
    case PeakUnit::kAvx512Fp32:
      return "avx512 fp32 fma";
    case PeakUnit::kAvx512Bf16Dot:
      return "avx512_bf16 dot";
  }
  return "?";
}

int64_t PeakFlopsPerIteration(PeakUnit unit) {
  switch (unit) {
    case PeakUnit::kAvx2Fp32:
      return int64_t{kPeakChains} * 8 * 2;
    case PeakUnit::kAvx512Fp32:
      return int64_t{kPeakChains} * 16 * 2;
    case PeakUnit::kAvx512Bf16Dot:
      return int64_t{kPeakChains} * 16 * 2 * 2;
  }
  return 0;
}

double RunPeakKernel(PeakUnit unit, int64_t iterations) {
  switch (unit) {
    case PeakUnit::kAvx2Fp32:
      return Avx2Kernel(iterations);
    case PeakUnit::kAvx512Fp32:
      return Avx512Kernel(iterations);
    case PeakUnit::kAvx512Bf16Dot:
      return Avx512Bf16Kernel(iterations);
  }
  return 0;
}

namespace {

// Each supported unit of `units`, measured in turn.
std::vector<PeakRate> MeasureUnits(const std::vector<PeakUnit>& units, int threads,
                                   double seconds) {
  threads = std::max(1, threads);
  std::vector<PeakRate> out;
  for (PeakUnit unit : units) {
    if (!PeakUnitSupported(unit)) continue;
    // Warm-up (clocks, caches), then as many iterations as fill `seconds` at the warm-up's rate.
    int64_t iterations = 1 << 20;
    double took = TimeKernel(unit, threads, iterations);
    while (took < 0.05) {
      iterations *= 4;
      took = TimeKernel(unit, threads, iterations);
    }
    iterations = std::max<int64_t>(1, static_cast<int64_t>(iterations * seconds / took));
    PeakRate r;
    r.unit = unit;
    r.name = PeakUnitName(unit);
    r.threads = threads;
    r.seconds = TimeKernel(unit, threads, iterations);
    r.gflops =
        static_cast<double>(PeakFlopsPerIteration(unit)) * iterations * threads / r.seconds / 1e9;
    out.push_back(r);
  }
  return out;
}

}  // namespace

std::vector<PeakRate> MeasurePeaks(int threads, double seconds) {
  return MeasureUnits({PeakUnit::kAvx512Fp32, PeakUnit::kAvx2Fp32, PeakUnit::kAvx512Bf16Dot},
                      threads, seconds);
}

PeakLimits MeasureLimits(int threads, double seconds) {
  const PeakUnit fp32 =
      PeakUnitSupported(PeakUnit::kAvx512Fp32) ? PeakUnit::kAvx512Fp32 : PeakUnit::kAvx2Fp32;
  return LimitsOf(MeasureUnits({fp32, PeakUnit::kAvx512Bf16Dot}, threads, seconds));
}

PeakLimits LimitsOf(const std::vector<PeakRate>& rates) {
  PeakLimits limits;
  for (const PeakRate& r : rates) {
    if (r.unit == PeakUnit::kAvx512Bf16Dot) {
      limits.bf16_gflops = r.gflops;
    } else if (r.gflops > limits.fp32_gflops) {
      limits.fp32_unit = r.name;
      limits.fp32_gflops = r.gflops;
    }
  }
  return limits;
}

}  // namespace malaria::base
