#include "base/cpu_peak.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"

namespace malaria::base {
namespace {

// Every kernel the CPU has runs all its chains for exactly the iterations asked: the sum of its
// lanes is the recurrence's closed form (and a kernel the CPU lacks is not claimed).
TEST(CpuPeakTest, EachKernelRunsEveryChainForEveryIteration) {
  int supported = 0;
  for (PeakUnit unit : {PeakUnit::kAvx2Fp32, PeakUnit::kAvx512Fp32, PeakUnit::kAvx512Bf16Dot}) {
    if (!PeakUnitSupported(unit)) continue;
    ++supported;
    SCOPED_TRACE(PeakUnitName(unit));
    if (unit == PeakUnit::kAvx512Bf16Dot) {
      // Each lane gains 1 * 1 + 1 * 1 per iteration: 2 * 7 = 14, times 16 lanes and 12 chains.
      EXPECT_DOUBLE_EQ(RunPeakKernel(unit, 7), 14.0 * 16 * kPeakChains);
      EXPECT_DOUBLE_EQ(RunPeakKernel(unit, 1000), 2000.0 * 16 * kPeakChains);
    } else {
      // acc = acc * 0.5 + 1 from 0: after n iterations 2 - 2^(1 - n), exact in float32 for small n.
      const int lanes = unit == PeakUnit::kAvx2Fp32 ? 8 : 16;
      for (int n : {1, 3, 10}) {
        EXPECT_DOUBLE_EQ(RunPeakKernel(unit, n), (2 - std::ldexp(1.0, 1 - n)) * lanes * kPeakChains)
            << n << " iterations";
      }
      EXPECT_DOUBLE_EQ(RunPeakKernel(unit, 0), 0.0);
    }
  }
  // Every x86-64 machine this project builds on has at least AVX2 and FMA.
  EXPECT_GE(supported, 1);
}

TEST(CpuPeakTest, FlopsPerIterationCountEveryLaneOfEveryChain) {
  EXPECT_EQ(PeakFlopsPerIteration(PeakUnit::kAvx2Fp32), 12 * 8 * 2);
  EXPECT_EQ(PeakFlopsPerIteration(PeakUnit::kAvx512Fp32), 12 * 16 * 2);
  EXPECT_EQ(PeakFlopsPerIteration(PeakUnit::kAvx512Bf16Dot), 12 * 16 * 2 * 2);
}

// The measurement reports each supported unit once, on the threads asked, with a positive rate
// (how fast is for the benchmark, never asserted here).
TEST(CpuPeakTest, MeasurePeaksReportsEverySupportedUnit) {
  const std::vector<PeakRate> rates = MeasurePeaks(2, 0.02);
  int expected = 0;
  for (PeakUnit unit : {PeakUnit::kAvx2Fp32, PeakUnit::kAvx512Fp32, PeakUnit::kAvx512Bf16Dot}) {
    expected += PeakUnitSupported(unit);
  }
  ASSERT_EQ(static_cast<int>(rates.size()), expected);
  for (const PeakRate& r : rates) {
    EXPECT_EQ(r.threads, 2);
    EXPECT_GT(r.gflops, 0) << r.name;
    EXPECT_TRUE(std::isfinite(r.gflops)) << r.name;
    EXPECT_EQ(r.name, PeakUnitName(r.unit));
  }
}

// The limits a rate is stated against: the fastest fp32 unit and the bfloat16 dot products.
TEST(CpuPeakTest, LimitsAreTheFastestFp32UnitAndTheBf16DotProducts) {
  std::vector<PeakRate> rates(3);
  rates[0] = {PeakUnit::kAvx512Fp32, "avx512 fp32 fma", 2, 0.2, 600};
  rates[1] = {PeakUnit::kAvx2Fp32, "avx2 fp32 fma", 2, 0.2, 320};
  rates[2] = {PeakUnit::kAvx512Bf16Dot, "avx512_bf16 dot", 2, 0.2, 900};
  PeakLimits limits = LimitsOf(rates);
  EXPECT_EQ(limits.fp32_unit, "avx512 fp32 fma");
  EXPECT_EQ(limits.fp32_gflops, 600);
  EXPECT_EQ(limits.bf16_gflops, 900);
  limits = LimitsOf({rates[1]});
  EXPECT_EQ(limits.fp32_unit, "avx2 fp32 fma");
  EXPECT_EQ(limits.bf16_gflops, 0);
}

// A run's start measures the widest fp32 unit and the bf16 dot products only.
TEST(CpuPeakTest, MeasureLimitsTimesTheWidestFp32UnitAndTheBf16DotProducts) {
  const PeakLimits limits = MeasureLimits(2, 0.02);
  if (PeakUnitSupported(PeakUnit::kAvx512Fp32)) {
    EXPECT_EQ(limits.fp32_unit, PeakUnitName(PeakUnit::kAvx512Fp32));
  } else if (PeakUnitSupported(PeakUnit::kAvx2Fp32)) {
    EXPECT_EQ(limits.fp32_unit, PeakUnitName(PeakUnit::kAvx2Fp32));
  } else {
    EXPECT_EQ(limits.fp32_unit, "");
  }
  EXPECT_EQ(limits.fp32_gflops > 0, !limits.fp32_unit.empty());
  EXPECT_EQ(limits.bf16_gflops > 0, PeakUnitSupported(PeakUnit::kAvx512Bf16Dot));
}

}  // namespace
}  // namespace malaria::base
