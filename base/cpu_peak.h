// The CPU's arithmetic limit, measured: how many floating-point operations per second its vector
// units retire when nothing but independent fused multiply-adds is asked of them, on every thread.
// Every achieved rate (a matrix multiply, a training step) is a fraction of this, whatever BLAS
// library or core type (OPENBLAS_CORETYPE) the process runs with.
//
//   for (const PeakRate& r : MeasurePeaks(/*threads=*/2, /*seconds=*/0.5)) {
//     absl::PrintF("%s: %.0f GFLOP/s\n", r.unit, r.gflops);   // "avx512 fp32 fma: 450 GFLOP/s"
//   }
#ifndef MALARIA_BASE_CPU_PEAK_H_
#define MALARIA_BASE_CPU_PEAK_H_

#include <cstdint>
#include <string>
#include <vector>

namespace malaria::base {

// The vector units a peak is measured on.
enum class PeakUnit {
  kAvx2Fp32,       // 256-bit FMA (vfmadd231ps ymm): 16 FLOP per instruction
  kAvx512Fp32,     // 512-bit FMA (vfmadd231ps zmm): 32 FLOP per instruction
  kAvx512Bf16Dot,  // AVX512_BF16 dot product (vdpbf16ps zmm): 64 FLOP per instruction
};

// The independent accumulator chains each kernel keeps in flight: enough to cover an FMA's
// latency (4-5 cycles) times the units that issue it (2), so throughput, not latency, is measured.
inline constexpr int kPeakChains = 12;

// Whether this CPU (and this build) can run `unit`'s kernel.
bool PeakUnitSupported(PeakUnit unit);

// The unit's name as the probes print it: "avx2 fp32 fma", "avx512 fp32 fma", "avx512_bf16 dot".
std::string PeakUnitName(PeakUnit unit);

// FLOP one kernel iteration does: kPeakChains instructions of the unit.
int64_t PeakFlopsPerIteration(PeakUnit unit);

// RunPeakKernel runs `iterations` iterations of `unit`'s kernel on this thread and returns the sum
// of its accumulators' lanes (what keeps the compiler from dropping the work; tests compare it to
// the recurrence's closed form). Each fp32 chain computes acc = acc * 0.5 + 1 from 0, so every
// lane ends at 2 - 2^(1 - iterations) (2 once iterations > 24); each bf16 chain adds 1 * 1 + 1 * 1
// per iteration to a lane, ending at 2 * iterations. The unit must be supported.
double RunPeakKernel(PeakUnit unit, int64_t iterations);

struct PeakRate {
  PeakUnit unit;
  std::string name;
  int threads = 0;
  double seconds = 0;  // wall time of the timed run
  double gflops = 0;   // over all threads
};

// MeasurePeaks measures every supported unit on `threads` threads at once, each unit for about
// `seconds` after a warm-up, widest fp32 unit first.
std::vector<PeakRate> MeasurePeaks(int threads, double seconds);

// The two limits a rate is stated against: the fastest fp32 FMA unit's (its name) and the
// bfloat16 dot products' (0 without AVX512_BF16).
struct PeakLimits {
  std::string fp32_unit;
  double fp32_gflops = 0, bf16_gflops = 0;
};
PeakLimits LimitsOf(const std::vector<PeakRate>& rates);

// MeasureLimits measures only the units the limits come from: the widest supported fp32 unit (on
// every CPU measured so far also the fastest: AVX-512 FMA retires at least AVX2's FLOP per cycle)
// and the bfloat16 dot products, about `seconds` each. What a run records at its start, in about
// two thirds of MeasurePeaks' time on a CPU with all three units.
PeakLimits MeasureLimits(int threads, double seconds);

}  // namespace malaria::base

#endif  // MALARIA_BASE_CPU_PEAK_H_
