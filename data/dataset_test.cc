#include "data/dataset.h"

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "base/files.h"
#include "data/image_io.h"
#include "gtest/gtest.h"
#include "opencv2/core.hpp"

namespace malaria::data {
namespace {

std::string FreshDir(const std::string& name) {
  const std::string dir = base::JoinPath(std::getenv("TEST_TMPDIR"), name);
  std::filesystem::remove_all(dir);
  EXPECT_TRUE(base::MakeDirs(dir).ok());
  return dir;
}

void WriteImage(const std::string& path) {
  ASSERT_TRUE(base::MakeDirs(std::filesystem::path(path).parent_path()).ok());
  ASSERT_TRUE(WritePng(cv::Mat(8, 8, CV_8UC3, cv::Scalar(10, 20, 30)), path).ok());
}

// A folder reached twice (a symlink loop such as `ln -s . loopdir`, or a second link to a class
// folder) is skipped and named: its images are read once and the link's name is no class.
TEST(DatasetTest, FoldersReachedTwiceAreSkippedAndNamed) {
  const std::string root = FreshDir("loops");
  WriteImage(root + "/Parasitized/C100P61ThinF_IMG_2_cell_9.png");
  WriteImage(root + "/Uninfected/C1_thinF_IMG_1_cell_1.png");
  std::filesystem::create_directory_symlink(".", root + "/Parasitized/loopdir");
  std::filesystem::create_directory_symlink("../Parasitized", root + "/Uninfected/again");
  const absl::StatusOr<Dataset> ds = ScanImageFolder(root);
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ(ds->classes, (std::vector<std::string>{"Parasitized", "Uninfected"}));
  EXPECT_EQ(ds->examples.size(), 2u);
  ASSERT_EQ(ds->repeated_folders.size(), 2u);
  const std::string both = ds->repeated_folders[0] + "\n" + ds->repeated_folders[1];
  EXPECT_NE(both.find(root + "/Parasitized/loopdir (a link to "), std::string::npos) << both;
  EXPECT_NE(both.find(root + "/Uninfected/again"), std::string::npos) << both;
}

TEST(DatasetTest, ScansNihLayoutAtAnyDepthWithSortedClasses) {
  const std::string root = FreshDir("nih");
  WriteImage(root + "/cell_images/Uninfected/C1_thinF_IMG_1_cell_1.png");
  WriteImage(root + "/cell_images/Parasitized/C100P61ThinF_IMG_2_cell_9.png");
  WriteImage(root + "/cell_images/Parasitized/C100P61ThinF_IMG_2_cell_3.png");
  ASSERT_TRUE(base::WriteFileAtomically(root + "/cell_images/Parasitized/Thumbs.db", "x").ok());
  ASSERT_TRUE(base::WriteFileAtomically(root + "/README.png.txt", "x").ok());

  const absl::StatusOr<Dataset> ds = ScanImageFolder(root);
  ASSERT_TRUE(ds.ok()) << ds.status();
  ASSERT_EQ(ds->classes, (std::vector<std::string>{"Parasitized", "Uninfected"}));
  ASSERT_EQ(ds->examples.size(), 3u);
  EXPECT_EQ(ds->ignored_files, 2);
  // Sorted by path: cell_3 before cell_9.
  EXPECT_NE(ds->examples[0].path.find("cell_3.png"), std::string::npos);
  EXPECT_EQ(ds->examples[0].label, 0);
  EXPECT_EQ(ds->examples[0].group, "P61");
  EXPECT_EQ(ds->examples[2].label, 1);
  EXPECT_EQ(ds->examples[2].group, "C1");
  EXPECT_EQ(ds->CountPerClass(), (std::vector<int>{2, 1}));
}

TEST(DatasetTest, MissingFolderIsNotFoundAndNamesIt) {
  const absl::StatusOr<Dataset> ds = ScanImageFolder("/no/such/cells");
  EXPECT_EQ(ds.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(ds.status().message().find("/no/such/cells"), std::string::npos);
}

TEST(DatasetTest, FolderWithoutImagesIsAnError) {
  const std::string root = FreshDir("empty");
  ASSERT_TRUE(base::MakeDirs(root + "/Parasitized").ok());
  const absl::StatusOr<Dataset> ds = ScanImageFolder(root);
  EXPECT_EQ(ds.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(ds.status().message().find("holds no images"), std::string::npos) << ds.status();
  EXPECT_NE(ds.status().message().find(root), std::string::npos);
}

// A patient's folder for classify: its images at any depth, sorted, other files left out; a
// missing folder, a file and a folder without images are errors that name it.
TEST(DatasetTest, ListImagesFindsAFoldersImagesSorted) {
  const std::string root = FreshDir("patient");
  WriteImage(root + "/b.png");
  WriteImage(root + "/a.PNG");
  WriteImage(root + "/slide2/c.jpg");
  ASSERT_TRUE(base::WriteFileAtomically(root + "/notes.txt", "not a cell").ok());
  const absl::StatusOr<std::vector<std::string>> images = ListImages(root);
  ASSERT_TRUE(images.ok()) << images.status();
  EXPECT_EQ(*images,
            (std::vector<std::string>{root + "/a.PNG", root + "/b.png", root + "/slide2/c.jpg"}));
  EXPECT_EQ(ListImages("/no/such/patient").status().code(), absl::StatusCode::kNotFound);
  const absl::Status file = ListImages(root + "/b.png").status();
  EXPECT_EQ(file.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(file.message().find(root + "/b.png is not a folder"), std::string::npos) << file;
  const std::string empty = FreshDir("no_cells");
  const absl::Status none = ListImages(empty).status();
  EXPECT_EQ(none.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(none.message().find(empty + " holds no images"), std::string::npos) << none;
}

TEST(DatasetTest, OneClassIsAnErrorNamingTheClass) {
  const std::string root = FreshDir("one_class");
  WriteImage(root + "/Parasitized/a.png");
  const absl::StatusOr<Dataset> ds = ScanImageFolder(root);
  EXPECT_EQ(ds.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(ds.status().message().find("only one class (Parasitized"), std::string::npos)
      << ds.status();
}

TEST(DatasetTest, PatientFromNihFileNames) {
  EXPECT_EQ(PatientFromFileName("C100P61ThinF_IMG_20150918_144104_cell_162.png"), "P61");
  EXPECT_EQ(PatientFromFileName("C186P147NThinF_IMG_20151203_150808_cell_108.png"), "P147");
  EXPECT_EQ(PatientFromFileName("C1_thinF_IMG_20150604_104722_cell_9.png"), "C1");
  EXPECT_EQ(PatientFromFileName("C231ThinF_IMG_20151112_153041_cell_32.png"), "C231");
  EXPECT_EQ(PatientFromFileName("ParasitizedC100P61ThinF_IMG_20150918_144104_cell_165.png"), "P61");
  EXPECT_EQ(PatientFromFileName("ParasitizedC33P1thinF_IMG_20150619_114756a_cell_179.png"), "P1");
  EXPECT_EQ(PatientFromFileName("cell.png"), "");
  EXPECT_EQ(PatientFromFileName("abc"), "");
  EXPECT_EQ(PatientFromFileName(""), "");
}

TEST(DatasetTest, FingerprintChangesWithContent) {
  const std::string root = FreshDir("fp");
  WriteImage(root + "/A/a.png");
  WriteImage(root + "/B/b.png");
  const std::string before = Fingerprint(*ScanImageFolder(root));
  EXPECT_EQ(before, Fingerprint(*ScanImageFolder(root)));
  WriteImage(root + "/B/c.png");
  EXPECT_NE(before, Fingerprint(*ScanImageFolder(root)));
}

}  // namespace
}  // namespace malaria::data
