#include "models/pth_reader.h"

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "base/files.h"
#include "gtest/gtest.h"

namespace malaria::models {
namespace {

std::string Corpus(const std::string& name) {
  return base::JoinPath(std::getenv("TEST_SRCDIR"), "malaria/models/testdata/pth_corpus/" + name);
}

std::vector<float> Floats(const PthFile& f, const TensorRecord& t) {
  const absl::string_view bytes = f.StorageBytes(t);
  std::vector<float> all(bytes.size() / 4);
  std::memcpy(all.data(), bytes.data(), bytes.size());
  return all;
}

void ExpectError(const std::string& file, absl::StatusCode code, const std::string& text) {
  const absl::StatusOr<PthFile> f = ReadPthFile(Corpus(file));
  ASSERT_FALSE(f.ok()) << file;
  EXPECT_EQ(f.status().code(), code) << f.status();
  EXPECT_NE(f.status().message().find(text), std::string::npos) << f.status();
  EXPECT_NE(f.status().message().find(file), std::string::npos) << "the error names the file";
}

TEST(PthReaderTest, ReadsAStateDictInFileOrder) {
  const absl::StatusOr<PthFile> f = ReadPthFile(Corpus("seed_small.pth"));
  ASSERT_TRUE(f.ok()) << f.status();
  ASSERT_EQ(f->tensors.size(), 3u);
  const TensorRecord& w = f->tensors[0];
  EXPECT_EQ(w.name, "conv.weight");
  EXPECT_EQ(w.dtype, DType::kFloat32);
  EXPECT_EQ(w.sizes, (std::vector<int64_t>{2, 1, 2, 3}));
  EXPECT_EQ(w.strides, (std::vector<int64_t>{6, 6, 3, 1}));
  EXPECT_EQ(w.NumElements(), 12);
  const std::vector<float> values = Floats(*f, w);
  ASSERT_EQ(values.size(), 12u);
  for (int i = 0; i < 12; ++i) EXPECT_EQ(values[i], i);
  EXPECT_EQ(f->tensors[1].name, "conv.bias");
  EXPECT_EQ(Floats(*f, f->tensors[1]), (std::vector<float>{0.5f, -0.5f}));
  const TensorRecord& counter = f->tensors[2];
  EXPECT_EQ(counter.dtype, DType::kInt64);
  EXPECT_TRUE(counter.sizes.empty());
  int64_t n;
  std::memcpy(&n, f->StorageBytes(counter).data(), 8);
  EXPECT_EQ(n, 3);
}

TEST(PthReaderTest, ViewsShareStoragesWithOffsetsAndStrides) {
  const absl::StatusOr<PthFile> f = ReadPthFile(Corpus("seed_views.pth"));
  ASSERT_TRUE(f.ok()) << f.status();
  ASSERT_EQ(f->tensors.size(), 2u);
  const TensorRecord& t = f->tensors[1];
  EXPECT_EQ(t.storage_key, f->tensors[0].storage_key);
  EXPECT_EQ(t.storage_offset, 4);
  EXPECT_EQ(t.sizes, (std::vector<int64_t>{4, 3}));
  EXPECT_EQ(t.strides, (std::vector<int64_t>{1, 4}));
}

TEST(PthReaderTest, OtherDtypesCheckpointsAndParameters) {
  const absl::StatusOr<PthFile> d = ReadPthFile(Corpus("seed_dtypes.pth"));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->tensors[0].dtype, DType::kFloat16);
  EXPECT_EQ(d->tensors[1].dtype, DType::kInt64);
  // {"state_dict": ..., "epoch": 3}: the state dict inside is read.
  const absl::StatusOr<PthFile> c = ReadPthFile(Corpus("seed_checkpoint.pth"));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->tensors.size(), 3u);
  const absl::StatusOr<PthFile> l = ReadPthFile(Corpus("seed_linear.pth"));
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ(l->tensors[0].name, "weight");
  EXPECT_EQ(l->tensors[0].sizes, (std::vector<int64_t>{2, 3}));
}

TEST(PthReaderTest, HostileFilesAreRefusedWithoutRunningAnything) {
  ExpectError("hostile_runs_code.pth", absl::StatusCode::kInvalidArgument,
              "unsupported global 'posix.system'");
  ExpectError("hostile_view_past_storage.pth", absl::StatusCode::kInvalidArgument,
              "exceeds its storage of 4 elements");
  ExpectError("hostile_huge_storage.pth", absl::StatusCode::kDataLoss,
              "storage data/0 holds 16 bytes");
  ExpectError("hostile_size_overflow.pth", absl::StatusCode::kInvalidArgument, "overflows");
}

TEST(PthReaderTest, BrokenFilesGetClearErrors) {
  ExpectError("broken_compressed.pth", absl::StatusCode::kInvalidArgument, "is compressed");
  ExpectError("broken_short_record.pth", absl::StatusCode::kDataLoss, "holds 8 bytes");
  ExpectError("broken_truncated.pth", absl::StatusCode::kInvalidArgument,
              "end-of-central-directory");
  ExpectError("legacy_format.pth", absl::StatusCode::kInvalidArgument, "legacy");
  const absl::StatusOr<PthFile> missing = ReadPthFile("/no/such/weights.pth");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(ParsePth("", "empty.pth").ok());
  EXPECT_FALSE(ParsePth(std::string(100, '\0'), "zeros.pth").ok());
}

// Every prefix and many single-byte corruptions of a valid file: an error or a valid result, never
// a crash (the fuzzer, tools/fuzz_pth_reader.sh, explores this far further under AddressSanitizer).
TEST(PthReaderTest, TruncationsAndCorruptionsNeverCrash) {
  const std::string bytes = *base::ReadFile(Corpus("seed_small.pth"));
  for (size_t n = 0; n < bytes.size(); ++n) {
    const absl::StatusOr<PthFile> f = ParsePth(bytes.substr(0, n), "prefix");
    EXPECT_FALSE(f.ok()) << "a " << n << "-byte prefix parsed";
  }
  uint64_t state = 1;
  int parsed = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    std::string mutated = bytes;
    for (int k = 0; k < 1 + trial % 3; ++k) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      mutated[(state >> 33) % mutated.size()] = static_cast<char>(state >> 56);
    }
    const absl::StatusOr<PthFile> f = ParsePth(mutated, "mutated");
    if (f.ok()) {
      ++parsed;
      for (const TensorRecord& t : f->tensors) {
        const absl::string_view storage = f->StorageBytes(t);
        EXPECT_LE(storage.data() + storage.size(), f->bytes.data() + f->bytes.size());
      }
    }
  }
  EXPECT_GT(parsed, 0);  // corruptions of stored data leave a valid file
}

// Inputs the fuzzer found problems with, kept as regression tests: they must parse or fail
// cleanly.
TEST(PthReaderTest, FuzzerRegressions) {
  const std::string dir =
      base::JoinPath(std::getenv("TEST_SRCDIR"), "malaria/models/testdata/pth_corpus");
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string bytes = *base::ReadFile(entry.path().string());
    (void)ParsePth(bytes, entry.path().filename().string());
    ++files;
  }
  EXPECT_GE(files, 13);
}

}  // namespace
}  // namespace malaria::models
