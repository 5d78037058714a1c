#include "data/split.h"

#include <algorithm>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
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

// A dataset of `patients` infected patients (parasitized and uninfected cells) and `donors`
// healthy donors (uninfected cells only), with varying numbers of cells.
Dataset Patients(int patients, int donors) {
  Dataset ds;
  ds.classes = {"Parasitized", "Uninfected"};
  for (int p = 0; p < patients; ++p) {
    for (int i = 0; i < 10 + 3 * (p % 5); ++i) {
      ds.examples.push_back({"x", i % 2, absl::StrCat("P", p)});
    }
  }
  for (int d = 0; d < donors; ++d) {
    for (int i = 0; i < 8 + d % 4; ++i) ds.examples.push_back({"x", 1, absl::StrCat("C", d)});
  }
  return ds;
}

void ExpectNoPatientOnBothSides(const Dataset& ds, const Split& split) {
  const std::vector<std::string> train = GroupsOf(ds, split.train);
  for (const std::string& g : GroupsOf(ds, split.valid)) {
    EXPECT_FALSE(std::binary_search(train.begin(), train.end(), g)) << g << " on both sides";
  }
  EXPECT_EQ(split.train.size() + split.valid.size(), ds.examples.size());
}

void ExpectBothClassesOnBothSides(const Dataset& ds, const Split& split) {
  for (const auto* side : {&split.train, &split.valid}) {
    std::set<int> labels;
    for (int i : *side) labels.insert(ds.examples[i].label);
    EXPECT_EQ(labels.size(), 2u);
  }
}

TEST(SplitTest, PatientSplitKeepsPatientsWholeAndStratified) {
  const Dataset ds = Patients(30, 10);
  const absl::StatusOr<Split> split = PatientSplit(ds, 0.2, 9);
  ASSERT_TRUE(split.ok()) << split.status();
  ExpectNoPatientOnBothSides(ds, *split);
  ExpectBothClassesOnBothSides(ds, *split);
  const double fraction = static_cast<double>(split->valid.size()) / ds.examples.size();
  EXPECT_NEAR(fraction, 0.2, 0.05);
  // Donors are held out in proportion too.
  int donors = 0;
  for (const std::string& g : GroupsOf(ds, split->valid)) donors += g[0] == 'C';
  EXPECT_GE(donors, 1);
  EXPECT_EQ(PatientSplit(ds, 0.2, 9)->valid, split->valid);
  EXPECT_NE(PatientSplit(ds, 0.2, 10)->valid, split->valid);
}

TEST(SplitTest, PatientSplitFailsClearlyWhenOnePatientHasAllParasites) {
  const Dataset ds = Patients(1, 6);
  const absl::StatusOr<Split> split = PatientSplit(ds, 0.2, 1);
  EXPECT_EQ(split.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(split.status().message().find("Parasitized"), std::string::npos) << split.status();
}

TEST(SplitTest, PatientFoldsPartitionThePatients) {
  const Dataset ds = Patients(25, 10);
  std::vector<int> seen(ds.examples.size(), 0);
  std::set<std::string> all_valid_groups;
  for (int fold = 0; fold < 5; ++fold) {
    const absl::StatusOr<Split> split = PatientFold(ds, 5, fold, 3);
    ASSERT_TRUE(split.ok()) << split.status();
    ExpectNoPatientOnBothSides(ds, *split);
    ExpectBothClassesOnBothSides(ds, *split);
    for (int i : split->valid) ++seen[i];
    const double fraction = static_cast<double>(split->valid.size()) / ds.examples.size();
    EXPECT_NEAR(fraction, 0.2, 0.05) << "fold " << fold;
  }
  // Every image is validated in exactly one fold.
  for (int count : seen) EXPECT_EQ(count, 1);
  EXPECT_FALSE(PatientFold(ds, 5, 5, 3).ok());
  EXPECT_FALSE(PatientFold(ds, 1, 0, 3).ok());
  EXPECT_EQ(PatientFold(Patients(2, 1), 5, 0, 3).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(SplitTest, ListingNamesRelativePathAndClass) {
  Dataset ds;
  ds.root = "/data/cells";
  ds.classes = {"Parasitized", "Uninfected"};
  ds.examples = {{"/data/cells/Parasitized/a.png", 0, "P1"},
                 {"/data/cells/Uninfected/b.png", 1, "C2"}};
  EXPECT_EQ(SplitListing(ds, {1}), "Uninfected/b.png\tUninfected\tC2\n");
}

}  // namespace
}  // namespace malaria::data
