#include "data/split.h"

#include <algorithm>
#include <set>

#include "gtest/gtest.h"

namespace malaria::data {
namespace {

TEST(SplitTest, RandomSplitHoldsOutValidPctAndCoversEverythingOnce) {
  const Split split = RandomSplit(1000, 0.2, 7);
  EXPECT_EQ(split.valid.size(), 200u);
  EXPECT_EQ(split.train.size(), 800u);
  std::set<int> all(split.train.begin(), split.train.end());
  for (int v : split.valid) EXPECT_TRUE(all.insert(v).second) << v << " on both sides";
  EXPECT_EQ(all.size(), 1000u);
  EXPECT_TRUE(std::is_sorted(split.valid.begin(), split.valid.end()));
}

TEST(SplitTest, SameSeedSameSplitOtherSeedOtherSplit) {
  EXPECT_EQ(RandomSplit(500, 0.2, 1).valid, RandomSplit(500, 0.2, 1).valid);
  EXPECT_NE(RandomSplit(500, 0.2, 1).valid, RandomSplit(500, 0.2, 2).valid);
}

TEST(SplitTest, CutIsRoundedDownLikeFastai) {
  EXPECT_EQ(RandomSplit(9, 0.2, 0).valid.size(), 1u);  // int(0.2 * 9) = 1
  EXPECT_EQ(RandomSplit(27558, 0.2, 0).valid.size(), 5511u);
}

TEST(SplitTest, StratifiedSubsetKeepsClassShares) {
  Dataset ds;
  ds.classes = {"A", "B"};
  for (int i = 0; i < 300; ++i) ds.examples.push_back({"x", i < 200 ? 0 : 1, ""});
  const std::vector<int> subset = StratifiedSubset(ds, 30, 3);
  ASSERT_EQ(subset.size(), 30u);
  const int a =
      std::count_if(subset.begin(), subset.end(), [&](int i) { return ds.examples[i].label == 0; });
  EXPECT_EQ(a, 20);
  EXPECT_EQ(StratifiedSubset(ds, 0, 3).size(), 300u);
  EXPECT_EQ(StratifiedSubset(ds, 30, 3), StratifiedSubset(ds, 30, 3));
}

TEST(SplitTest, ListingNamesRelativePathAndClass) {
  Dataset ds;
  ds.root = "/data/cells";
  ds.classes = {"Parasitized", "Uninfected"};
  ds.examples = {{"/data/cells/Parasitized/a.png", 0, ""}, {"/data/cells/Uninfected/b.png", 1, ""}};
  EXPECT_EQ(SplitListing(ds, {1}), "Uninfected/b.png\tUninfected\n");
}

}  // namespace
}  // namespace malaria::data
