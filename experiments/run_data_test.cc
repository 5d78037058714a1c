#include "experiments/run_data.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "base/files.h"
#include "base/test_util.h"
#include "experiments/test_config.h"
#include "gtest/gtest.h"

namespace malaria::experiments {
namespace {

std::string Fresh(const std::string& name) { return base::TestDir(name); }

// A tiny config: 60 synthetic cells of 40 px from 6 patients as the fallback.
ExperimentConfig Config(const std::string& changes = "") {
  return TestConfig(
      R"pb(name: "t"
           seed: 3
           data {
             image_size: 32
             batch_size: 8
             loader_threads: 1
             synthetic_fallback { num_images: 60 source_size: 40 image_size: 32 num_patients: 6 }
           }
           training {
             stage {
               name: "s"
               lr { max: 1e-3 }
             }
           })pb",
      changes);
}

// The synthetic cells written once, as a real dataset folder.
const std::string& Cells() {
  static const std::string* dir = [] {
    auto* d = new std::string(base::JoinPath(std::getenv("TEST_TMPDIR"), "cells"));
    std::filesystem::remove_all(*d);
    data::SyntheticOptions o = SyntheticOptionsOf(Config());
    EXPECT_TRUE(data::WriteSyntheticDataset(*d, o).ok());
    return d;
  }();
  return *dir;
}

TEST(RunDataTest, ResolveDataFollowsTheDocumentedOrder) {
  ::unsetenv("MALARIA_DATA");
  const std::string workspace = Fresh("workspace");
  // 1. data.path, relative to the workspace.
  std::filesystem::create_directories(workspace + "/mine/cells");
  ExperimentConfig config = Config();
  config.mutable_data()->set_path("mine/cells");
  absl::StatusOr<ResolvedData> r = ResolveData(config, workspace);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->path, workspace + "/mine/cells");
  EXPECT_EQ(r->source, "data.path");
  EXPECT_EQ(r->kind, DatasetInfo::REAL);
  // 2. $MALARIA_DATA.
  config.mutable_data()->clear_path();
  ::setenv("MALARIA_DATA", Cells().c_str(), 1);
  r = ResolveData(config, workspace);
  ::unsetenv("MALARIA_DATA");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->path, Cells());
  EXPECT_EQ(r->source, "$MALARIA_DATA");
  // 3. The workspace's data/nih_malaria/cell_images.
  std::filesystem::create_directories(workspace + "/data/nih_malaria/cell_images");
  r = ResolveData(config, workspace);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->source, "the workspace");
  // 4. The synthetic default, made in the workspace's data/cache.
  std::filesystem::remove_all(workspace + "/data/nih_malaria");
  r = ResolveData(config, workspace);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->kind, DatasetInfo::SYNTHETIC);
  EXPECT_EQ(r->path.rfind(workspace + "/data/cache/", 0), 0u) << r->path;
  EXPECT_TRUE(base::IsDirectory(r->path + "/Parasitized"));
}

TEST(RunDataTest, AConfiguredFolderThatIsMissingOrAFileIsNamed) {
  const std::string workspace = Fresh("bad_paths");
  ExperimentConfig config = Config();
  config.mutable_data()->set_path("nowhere");
  absl::StatusOr<ResolvedData> r = ResolveData(config, workspace);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(),
            "data.path: data folder " + workspace + "/nowhere does not exist");
  ASSERT_TRUE(base::WriteFileAtomically(workspace + "/a_file.png", "x").ok());
  config.mutable_data()->set_path("a_file.png");
  r = ResolveData(config, workspace);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("data.path: " + workspace +
                                      "/a_file.png is a file, not a data folder"),
            std::string::npos)
      << r.status();
  config.mutable_data()->clear_path();
  ::setenv("MALARIA_DATA", (workspace + "/a_file.png").c_str(), 1);
  r = ResolveData(config, workspace);
  ::unsetenv("MALARIA_DATA");
  EXPECT_NE(r.status().message().find("$MALARIA_DATA: "), std::string::npos) << r.status();
}

TEST(RunDataTest, SyntheticFallbackSetsItsSizesAndSaysSoLoudly) {
  ExperimentConfig config = Config();
  config.mutable_data()->set_image_size(170);
  config.mutable_data()->set_max_images(10);
  std::vector<std::string> warnings;
  std::FILE* out = std::tmpfile();
  ApplySyntheticFallback({"/real", DatasetInfo::REAL, "data.path"}, &config, &warnings, out);
  EXPECT_EQ(config.data().image_size(), 170);  // real data: untouched
  EXPECT_TRUE(warnings.empty());
  ApplySyntheticFallback({"/cache/s", DatasetInfo::SYNTHETIC, "x"}, &config, &warnings, out);
  EXPECT_EQ(config.data().image_size(), 32);
  EXPECT_EQ(config.data().max_images(), 0);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("SYNTHETIC"), std::string::npos);
  const std::string text = base::ReadAll(out);
  EXPECT_NE(text.find("NO DATASET FOUND"), std::string::npos) << text;
  std::fclose(out);
}

TEST(RunDataTest, LoadRunDataDecodesChecksAndSplits) {
  ExperimentConfig config = Config("data { split { patient { valid_pct: 0.3 } } }");
  const ResolvedData where{Cells(), DatasetInfo::REAL, "test"};
  std::FILE* out = std::tmpfile();
  absl::StatusOr<RunData> d = LoadRunData(config, where, 1, out);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->classes, (std::vector<std::string>{"Parasitized", "Uninfected"}));
  EXPECT_EQ(d->positive, 0);
  EXPECT_EQ(d->source->dataset().examples.size(), 60u);
  EXPECT_EQ(d->split.train.size() + d->split.valid.size(), 60u);
  // No patient on both sides.
  for (const std::string& g : data::GroupsOf(d->source->dataset(), d->split.valid)) {
    for (const std::string& t : data::GroupsOf(d->source->dataset(), d->split.train)) {
      EXPECT_NE(g, t);
    }
  }
  RunInfo info;
  DescribeData(where, *d, &info);
  EXPECT_EQ(info.dataset().images_per_class_size(), 2);
  EXPECT_EQ(info.dataset().train_images() + info.dataset().valid_images(), 60);
  EXPECT_FALSE(info.dataset().fingerprint().empty());
  std::fclose(out);
}

TEST(RunDataTest, LoadRunDataNamesWhatIsWrong) {
  std::FILE* out = std::tmpfile();
  const ResolvedData where{Cells(), DatasetInfo::REAL, "test"};
  ExperimentConfig config = Config("evaluation { positive_class: \"Infected\" }");
  absl::StatusOr<RunData> d = LoadRunData(config, where, 1, out);
  EXPECT_NE(d.status().message().find("evaluation.positive_class: 'Infected' is not a class"),
            std::string::npos)
      << d.status();

  config = Config();
  config.mutable_data()->set_batch_size(100);
  d = LoadRunData(config, where, 1, out);
  EXPECT_NE(d.status().message().find("training needs at least one batch (data.batch_size=100)"),
            std::string::npos)
      << d.status();

  // An unreadable image: skipped with a warning, or the run stops with data.strict.
  const std::string broken = Fresh("broken");
  std::filesystem::copy(
      Cells(), broken,
      std::filesystem::copy_options::recursive | std::filesystem::copy_options::overwrite_existing);
  ASSERT_TRUE(base::WriteFileAtomically(broken + "/Uninfected/C9_bad_cell_1.png", "junk").ok());
  const ResolvedData broken_where{broken, DatasetInfo::REAL, "test"};
  d = LoadRunData(Config(), broken_where, 1, out);
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_EQ(d->bad.size(), 1u);
  ASSERT_EQ(d->warnings.size(), 1u);
  EXPECT_NE(d->warnings[0].find("C9_bad_cell_1.png"), std::string::npos);
  config = Config();
  config.mutable_data()->set_strict(true);
  d = LoadRunData(config, broken_where, 1, out);
  EXPECT_EQ(d.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(d.status().message().find("data.strict"), std::string::npos);
  std::fclose(out);
}

// data.exclude leaves its images out of training only; unknown names are counted (an error with
// data.strict); suspect_labels' CSV (path first, a header) and plain lists both read.
TEST(RunDataTest, ExcludeLeavesImagesOutOfTrainingOnly) {
  std::FILE* out = std::tmpfile();
  const ResolvedData where{Cells(), DatasetInfo::REAL, "test"};
  const RunData all = *LoadRunData(Config(), where, 1, out);
  const data::Dataset& ds = all.source->dataset();
  auto relative = [&](int i) {
    return std::filesystem::path(ds.examples[i].path).lexically_relative(ds.root).string();
  };
  const std::string list = base::JoinPath(Fresh("exclude"), "suspects.csv");
  ASSERT_TRUE(base::WriteFileAtomically(
                  list, "path,given_label,suggested_label\n" + relative(all.split.train[0]) +
                            ",Uninfected,Parasitized\n" + relative(all.split.train[1]) + ",x,y\n" +
                            relative(all.split.valid[0]) +
                            ",x,y\nParasitized/no_such_cell.png,x,y\n")
                  .ok());
  ExperimentConfig config = Config();
  config.mutable_data()->set_exclude(list);
  const RunData d = *LoadRunData(config, where, 1, out);
  EXPECT_EQ(d.excluded, 2);  // the two training images; the validation one stays
  EXPECT_EQ(d.not_found, 1);
  EXPECT_EQ(d.split.train.size(), all.split.train.size() - 2);
  EXPECT_EQ(d.split.valid, all.split.valid);
  ASSERT_EQ(d.warnings.size(), 1u);
  EXPECT_NE(d.warnings[0].find("data.exclude: 1 of the 4 names"), std::string::npos);
  RunInfo info;
  DescribeData(where, d, &info);
  EXPECT_EQ(info.dataset().excluded_images(), 2);
  EXPECT_EQ(info.dataset().exclude_not_found(), 1);

  config.mutable_data()->set_strict(true);
  const absl::StatusOr<RunData> strict = LoadRunData(config, where, 1, out);
  EXPECT_EQ(strict.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(strict.status().message().find("data.strict"), std::string::npos);

  ASSERT_TRUE(base::WriteFileAtomically(list, relative(all.split.train[2]) + "\n").ok());
  EXPECT_EQ(*ReadExcludeList(list), std::vector<std::string>{relative(all.split.train[2])});
  config.mutable_data()->set_exclude(list + ".missing");
  EXPECT_NE(LoadRunData(config, where, 1, out).status().message().find("data.exclude: "),
            std::string::npos);
  std::fclose(out);
}

}  // namespace
}  // namespace malaria::experiments
