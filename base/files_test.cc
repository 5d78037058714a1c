#include "base/files.h"

#include <sys/resource.h>
#include <sys/stat.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "gtest/gtest.h"

namespace malaria::base {
namespace {

std::string TempDir(const std::string& name) {
  const std::string dir = JoinPath(std::getenv("TEST_TMPDIR"), name);
  std::filesystem::remove_all(dir);
  EXPECT_TRUE(MakeDirs(dir).ok());
  return dir;
}

TEST(FilesTest, WriteAtomicallyReplacesAndLeavesNoTemporaryFiles) {
  const std::string dir = TempDir("atomic");
  const std::string path = JoinPath(dir, "a.txt");
  ASSERT_TRUE(WriteFileAtomically(path, "first").ok());
  ASSERT_TRUE(WriteFileAtomically(path, "second").ok());
  EXPECT_EQ(*ReadFile(path), "second");
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    ++files;
    EXPECT_EQ(entry.path().filename(), "a.txt");
  }
  EXPECT_EQ(files, 1);
}

TEST(FilesTest, WriteIntoMissingFolderFailsNamingThePath) {
  const absl::Status s = WriteFileAtomically("/nonexistent-folder/x/a.txt", "x");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("/nonexistent-folder/x/a.txt"), std::string::npos) << s;
}

TEST(FilesTest, ReadMissingFileIsNotFound) {
  const absl::StatusOr<std::string> r = ReadFile("/nonexistent-folder/none.txt");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("none.txt"), std::string::npos);
}

TEST(FilesTest, ReadingAFolderOrPipeIsAClearErrorNotACrash) {
  const std::string dir = TempDir("not_files");
  const absl::StatusOr<std::string> folder = ReadFile(dir);
  EXPECT_EQ(folder.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(folder.status().message().find(dir + " is a folder, not a file"), std::string::npos)
      << folder.status();
  const std::string fifo = JoinPath(dir, "fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // Opening a pipe for reading would block until a writer comes; it must be refused first.
  const absl::StatusOr<std::string> pipe = ReadFile(fifo);
  EXPECT_EQ(pipe.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(pipe.status().message().find("is a pipe"), std::string::npos) << pipe.status();
  EXPECT_TRUE(RequireRegularFile("/dev/null").message().find("is a device") != std::string::npos);
  ASSERT_TRUE(WriteFileAtomically(JoinPath(dir, "f.txt"), "x").ok());
  EXPECT_TRUE(RequireRegularFile(JoinPath(dir, "f.txt")).ok());
}

TEST(FilesTest, JoinPathHandlesSlashes) {
  EXPECT_EQ(JoinPath("a", "b"), "a/b");
  EXPECT_EQ(JoinPath("a/", "b"), "a/b");
  EXPECT_EQ(JoinPath("a", "/abs"), "/abs");
  EXPECT_EQ(JoinPath("", "b"), "b");
}

TEST(FilesTest, ResolveUserPathUsesBazelWorkingDirectory) {
  setenv("BUILD_WORKING_DIRECTORY", "/home/user/project", 1);
  EXPECT_EQ(ResolveUserPath("../data/x"), "/home/user/data/x");
  EXPECT_EQ(ResolveUserPath("/abs/y"), "/abs/y");
  EXPECT_EQ(ResolveUserPath(""), "");
  unsetenv("BUILD_WORKING_DIRECTORY");
}

TEST(FilesTest, ResolveOutputFileChecksTheFolderBeforeAnythingIsWritten) {
  const std::string dir = TempDir("output");
  absl::StatusOr<std::string> ok = ResolveOutputFile("--out", dir + "/p.png");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(*ok, dir + "/p.png");
  absl::Status missing = ResolveOutputFile("--out", dir + "/no/p.png").status();
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.message(), "--out " + dir + "/no/p.png: folder " + dir + "/no does not exist");
  absl::Status folder = ResolveOutputFile("--html", dir).status();
  EXPECT_EQ(folder.message(), "--html " + dir + " is a folder");
}

// A file-size limit (ulimit -f) with SIGXFSZ ignored, as every program's RunMain does: the write
// fails like a full disk, names the file and the limit, and leaves no temporary file.
TEST(FilesTest, AWriteOverTheFileSizeLimitFailsCleanly) {
  const std::string dir = TempDir("limit");
  std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit old;
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
  struct rlimit small = old;
  small.rlim_cur = 4096;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  const absl::Status s = WriteFileAtomically(JoinPath(dir, "big.bin"), std::string(10000, 'x'));
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &old), 0);
  std::signal(SIGXFSZ, SIG_DFL);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_NE(s.message().find("big.bin"), std::string::npos) << s;
  EXPECT_NE(s.message().find("file-size limit"), std::string::npos) << s;
  EXPECT_TRUE(std::filesystem::is_empty(dir));
}

TEST(FilesTest, TemporaryFilesAreRecognisedAndSwept) {
  EXPECT_TRUE(IsTemporaryFileName("train_last.pt.tmp.12345.0"));
  EXPECT_TRUE(IsTemporaryFileName("run_info.pbtxt.emergency"));
  EXPECT_FALSE(IsTemporaryFileName("train_last.pt"));
  EXPECT_FALSE(IsTemporaryFileName("notes.tmp.txt"));
  EXPECT_FALSE(IsTemporaryFileName("x.tmp.12a.0"));
  EXPECT_FALSE(IsTemporaryFileName("x.tmp.12."));
  const std::string dir = TempDir("sweep");
  ASSERT_TRUE(WriteFileAtomically(JoinPath(dir, "keep.pt"), "k").ok());
  ASSERT_TRUE(MakeDirs(JoinPath(dir, "checkpoints")).ok());
  ASSERT_TRUE(WriteFileAtomically(JoinPath(dir, "checkpoints/a.pt.tmp.1.2"), "t").ok());
  ASSERT_TRUE(WriteFileAtomically(JoinPath(dir, "run_info.pbtxt.emergency"), "e").ok());
  EXPECT_EQ(RemoveTemporaryFiles(dir), 2);
  EXPECT_TRUE(PathExists(JoinPath(dir, "keep.pt")));
  EXPECT_FALSE(PathExists(JoinPath(dir, "checkpoints/a.pt.tmp.1.2")));
  EXPECT_EQ(RemoveTemporaryFiles(dir), 0);
}

}  // namespace
}  // namespace malaria::base
