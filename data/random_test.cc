#include "data/random.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"

namespace malaria::data {
namespace {

TEST(RandomTest, SameKeySameNumbersOtherKeyOtherNumbers) {
  Rng a(MixSeed(1, kMixupStream, 2, 3)), b(MixSeed(1, kMixupStream, 2, 3)),
      c(MixSeed(1, kMixupStream, 2, 4));
  EXPECT_EQ(a.Next(), b.Next());
  EXPECT_NE(a.Next(), c.Next());
  EXPECT_EQ(MixSeed(1, 2, 3, 4, 5), MixSeed(1, 2, 3, 4, 5));
  EXPECT_NE(MixSeed(1, 2, 3, 4, 5), MixSeed(1, 2, 3, 4, 6));
}

// Moments over 200,000 draws: the mean within 4 standard errors, the variance within 2 %.
void ExpectMoments(std::vector<double> x, double mean, double variance) {
  double m = 0, v = 0;
  for (double s : x) m += s;
  m /= x.size();
  for (double s : x) v += (s - m) * (s - m);
  v /= x.size() - 1;
  EXPECT_NEAR(m, mean, 4 * std::sqrt(variance / x.size()));
  EXPECT_NEAR(v, variance, 0.02 * variance);
}

TEST(RandomTest, NormalGammaAndBetaHaveTheirMoments) {
  Rng rng(7);
  const int n = 200000;
  std::vector<double> normal(n), gamma(n), small_gamma(n), beta(n);
  for (int i = 0; i < n; ++i) {
    normal[i] = rng.Normal();
    gamma[i] = rng.Gamma(2.5);        // mean 2.5, variance 2.5
    small_gamma[i] = rng.Gamma(0.4);  // mean 0.4, variance 0.4
    beta[i] = rng.Beta(0.4, 0.4);     // mixup's: mean 0.5, variance 0.25 / (2 * 0.4 + 1)
  }
  ExpectMoments(normal, 0, 1);
  ExpectMoments(gamma, 2.5, 2.5);
  ExpectMoments(small_gamma, 0.4, 0.4);
  ExpectMoments(beta, 0.5, 0.25 / 1.8);
  for (double b : beta) ASSERT_TRUE(b >= 0 && b <= 1) << b;
}

}  // namespace
}  // namespace malaria::data
