// Tests on the real NIH images (a 50 px grayscale copy of 18,388 of them, 132 patients) where the
// machine has them: ../shared/data/nih_malaria_50px/cell_images beside the workspace, or the folder
// in $MALARIA_REAL_DATA. Skipped, with a message saying where it looked, when absent.
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>

#include "base/files.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "data/split.h"
#include "gtest/gtest.h"

namespace malaria::data {
namespace {

namespace fs = std::filesystem;

// The real data's folder, or "" when it is not on this machine.
std::string RealDataDir(std::string* looked) {
  if (const char* env = std::getenv("MALARIA_REAL_DATA"); env != nullptr && *env) {
    *looked = env;
    return base::IsDirectory(env) ? env : "";
  }
  // This file's runfile is a symlink (possibly through Bazel's execroot) into the source tree.
  const std::string marker =
      base::JoinPath(std::getenv("TEST_SRCDIR"), "malaria/data/testdata/README.md");
  std::error_code ec;
  const fs::path source = fs::canonical(marker, ec);
  if (ec) {
    *looked = "(no source workspace found from " + marker + ")";
    return "";
  }
  const fs::path workspace = source.parent_path().parent_path().parent_path();
  const fs::path dir = workspace.parent_path() / "shared/data/nih_malaria_50px/cell_images";
  *looked = dir.string();
  return base::IsDirectory(dir.string()) ? dir.string() : "";
}

class RealDataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string looked;
    dir_ = RealDataDir(&looked);
    if (dir_.empty()) GTEST_SKIP() << "real NIH data not found at " << looked << "; skipping";
  }
  std::string dir_;
};

TEST_F(RealDataTest, ScansBothClassesWithTheirCounts) {
  const absl::StatusOr<Dataset> ds = ScanImageFolder(dir_);
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ(ds->classes, (std::vector<std::string>{"Parasitized", "Uninfected"}));
  EXPECT_EQ(ds->CountPerClass(), (std::vector<int>{9284, 9104}));
  std::set<std::string> groups;
  int without_group = 0;
  for (const Example& e : ds->examples) {
    groups.insert(e.group);
    without_group += e.group.empty();
  }
  EXPECT_EQ(without_group, 0);
  std::set<std::string> patients;
  for (const std::string& g : groups) {
    if (g[0] == 'P') patients.insert(g);
  }
  // The copy's README: 132 patients (infected ones numbered P..., healthy donors one slide each).
  EXPECT_EQ(groups.size(), 132u);
  EXPECT_EQ(patients.size(), 96u);
}

TEST_F(RealDataTest, PatientSplitAndFoldsKeepPatientsOnOneSide) {
  const absl::StatusOr<Dataset> ds = ScanImageFolder(dir_);
  ASSERT_TRUE(ds.ok());
  auto check = [&](const Split& split, const std::string& what) {
    const std::vector<std::string> train = GroupsOf(*ds, split.train);
    for (const std::string& g : GroupsOf(*ds, split.valid)) {
      ASSERT_FALSE(std::binary_search(train.begin(), train.end(), g)) << what << ": " << g;
    }
    for (const auto* side : {&split.train, &split.valid}) {
      std::vector<int> counts(2, 0);
      for (int i : *side) ++counts[ds->examples[i].label];
      EXPECT_GT(counts[0], 0) << what;
      EXPECT_GT(counts[1], 0) << what;
    }
    EXPECT_EQ(split.train.size() + split.valid.size(), ds->examples.size());
  };
  const absl::StatusOr<Split> split = PatientSplit(*ds, 0.2, 42);
  ASSERT_TRUE(split.ok()) << split.status();
  check(*split, "patient split");
  EXPECT_NEAR(static_cast<double>(split->valid.size()) / ds->examples.size(), 0.2, 0.03);
  for (int fold = 0; fold < 5; ++fold) {
    const absl::StatusOr<Split> f = PatientFold(*ds, 5, fold, 42);
    ASSERT_TRUE(f.ok()) << f.status();
    check(*f, "fold " + std::to_string(fold));
  }
}

TEST_F(RealDataTest, DecodesEveryImage) {
  const absl::StatusOr<Dataset> ds = ScanImageFolder(dir_);
  ASSERT_TRUE(ds.ok());
  std::vector<BadImage> bad;
  const ImageSource source = ImageSource::Load(*ds, 50, 0, int64_t{1} << 30, &bad);
  EXPECT_TRUE(bad.empty()) << bad.size() << " unreadable, the first: " << bad[0].error;
  EXPECT_EQ(source.dataset().examples.size(), 18388u);
  // 50 x 50 RGB (gray expanded to three channels), all cached.
  EXPECT_EQ(source.cached_bytes(), int64_t{18388} * 50 * 50 * 3);
  const absl::StatusOr<cv::Mat> first = source.Get(0);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->type(), CV_8UC3);
}

}  // namespace
}  // namespace malaria::data
