#include "data/data_config.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "data/loader.h"
#include "data/synthetic.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace malaria::data {
namespace {

DataConfig Parse(const std::string& text) {
  DataConfig config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &config)) << text;
  return config;
}

// The problems ValidateDataConfig finds, one per line.
std::string Problems(const DataConfig& config) {
  base::ConfigProblems problems;
  ValidateDataConfig(config, problems.In("data"));
  return std::string(problems.ToStatus().message());
}

// Ten patients with both classes and four healthy donors.
Dataset Patients() {
  Dataset ds;
  ds.classes = {"Parasitized", "Uninfected"};
  for (int p = 0; p < 10; ++p) {
    for (int i = 0; i < 12; ++i) ds.examples.push_back({"x", i % 2, absl::StrCat("P", p)});
  }
  for (int d = 0; d < 4; ++d) {
    for (int i = 0; i < 10; ++i) ds.examples.push_back({"x", 1, absl::StrCat("C", d)});
  }
  return ds;
}

TEST(DataConfigTest, FillDataDefaultsSetsTheStudysSplitAndImageNetStatistics) {
  DataConfig config;
  FillDataDefaults(&config);
  EXPECT_TRUE(config.split().has_random());
  EXPECT_FLOAT_EQ(config.split().random().valid_pct(), 0.2f);
  ASSERT_EQ(config.normalization().mean_size(), 3);
  EXPECT_FLOAT_EQ(config.normalization().mean(0), kImageNetMean[0]);
  EXPECT_FLOAT_EQ(config.normalization().std(2), kImageNetStd[2]);
  // Given values are kept.
  DataConfig given =
      Parse("split { patient { valid_pct: 0.3 } } normalization { mean: [0.5, 0.5, 0.5] }");
  FillDataDefaults(&given);
  EXPECT_TRUE(given.split().has_patient());
  EXPECT_FLOAT_EQ(given.normalization().mean(1), 0.5f);
  EXPECT_FLOAT_EQ(given.normalization().std(1), kImageNetStd[1]);
}

TEST(DataConfigTest, ValidationNamesEveryBrokenFieldUnderItsPath) {
  EXPECT_EQ(Problems(Parse("")), "");
  const std::string problems = Problems(Parse(R"pb(
    image_size: 8
    batch_size: 0
    split { patient_kfold { folds: 5 fold: 5 } }
    augmentation { p_affine: 1.5 max_zoom: 0.5 do_flip: false alternate_flips: true }
    normalization {
      mean: [ 0.5, 0.5 ]
      std: [ 1, 0, 1 ]
    }
    synthetic_fallback { num_images: 3 image_size: 4096 }
  )pb"));
  for (const char* expected : {
           "data.image_size: must be in [32, 2048] (the ResNet body divides it by 32), got 8",
           "data.batch_size: must be in [1, 8192], got 0",
           "data.split.patient_kfold.fold: must be in [0, 5), got 5",
           "data.augmentation.p_affine: must be a probability in [0, 1], got 1.5",
           "data.augmentation.max_zoom: must be in [1, 4], got 0.5",
           "data.augmentation.alternate_flips: needs do_flip (there are no flips to alternate), "
           "got false",
           "data.normalization.mean: needs 3 values (R, G, B) or none, got 2",
           "data.normalization.std[1]: must be > 0, got 0",
           "data.synthetic_fallback.num_images: must be >= 20, got 3",
           "data.synthetic_fallback.image_size: must be in [32, 2048] (the ResNet body divides it "
           "by 32), got 4096",
       }) {
    EXPECT_NE(problems.find(expected), std::string::npos) << expected << "\n" << problems;
  }
}

TEST(DataConfigTest, BuildLoaderOptionsForTrainingAndEvaluation) {
  const DataConfig config = Parse(R"pb(
    image_size: 64
    batch_size: 32
    prefetch_batches: 3
    loader_threads: 0
    augmentation { enabled: true max_rotate: 5 }
    normalization {
      mean: [ 0.1, 0.2, 0.3 ]
      std: [ 0.4, 0.5, 0.6 ]
    }
  )pb");
  const absl::StatusOr<LoaderOptions> train =
      BuildLoaderOptions(config, LoaderRole::kTraining, /*seed=*/9, /*default_threads=*/2);
  ASSERT_TRUE(train.ok()) << train.status();
  EXPECT_EQ(train->batch_size, 32);
  EXPECT_EQ(train->image_size, 64);
  EXPECT_EQ(train->prefetch, 3);
  EXPECT_EQ(train->threads, 2);  // loader_threads 0: the default
  EXPECT_EQ(train->seed, 9u);
  EXPECT_TRUE(train->shuffle && train->drop_last && train->augment);
  EXPECT_FLOAT_EQ(train->augmentation.max_rotate(), 5);
  EXPECT_FLOAT_EQ(train->mean[2], 0.3f);
  EXPECT_FLOAT_EQ(train->std[0], 0.4f);

  const absl::StatusOr<LoaderOptions> eval =
      BuildLoaderOptions(config, LoaderRole::kEvaluation, 9, 2);
  ASSERT_TRUE(eval.ok());
  EXPECT_FALSE(eval->shuffle || eval->drop_last || eval->augment);
  EXPECT_FLOAT_EQ(eval->std[1], 0.5f);

  DataConfig threads = config;
  threads.set_loader_threads(5);
  EXPECT_EQ(BuildLoaderOptions(threads, LoaderRole::kEvaluation, 0, 2)->threads, 5);
  DataConfig bad = config;
  bad.mutable_normalization()->add_mean(0.4f);
  const absl::StatusOr<LoaderOptions> refused =
      BuildLoaderOptions(bad, LoaderRole::kTraining, 0, 2);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("data.normalization"), std::string::npos);
}

TEST(DataConfigTest, BuildSplitFollowsEachBranchOfTheOneof) {
  const Dataset ds = Patients();
  const absl::StatusOr<Split> random =
      BuildSplit(Parse("split { random { valid_pct: 0.25 } }").split(), ds, 3);
  ASSERT_TRUE(random.ok());
  EXPECT_EQ(random->valid, RandomSplit(ds.examples.size(), 0.25, 3).valid);

  const absl::StatusOr<Split> patient =
      BuildSplit(Parse("split { patient { valid_pct: 0.3 } }").split(), ds, 3);
  ASSERT_TRUE(patient.ok()) << patient.status();
  EXPECT_EQ(patient->valid, PatientSplit(ds, 0.3, 3)->valid);

  const absl::StatusOr<Split> fold =
      BuildSplit(Parse("split { patient_kfold { folds: 3 fold: 2 } }").split(), ds, 3);
  ASSERT_TRUE(fold.ok()) << fold.status();
  EXPECT_EQ(fold->valid, PatientFold(ds, 3, 2, 3)->valid);
}

TEST(DataConfigTest, BuildSplitDrawsFromItsOwnSeedWhenOneIsSet) {
  const Dataset ds = Patients();
  // Unset: the run's seed decides; two run seeds that deal the patients differently.
  const Split run3 =
      *BuildSplit(Parse("split { patient_kfold { folds: 3 fold: 0 } }").split(), ds, 3);
  const Split run4 =
      *BuildSplit(Parse("split { patient_kfold { folds: 3 fold: 0 } }").split(), ds, 4);
  ASSERT_NE(run3.valid, run4.valid);
  // Set: the same validation patients whatever the run's seed.
  const SplitConfig own = Parse("split { patient_kfold { folds: 3 fold: 0 } seed: 3 }").split();
  EXPECT_EQ(BuildSplit(own, ds, 4)->valid, run3.valid);
  EXPECT_EQ(BuildSplit(own, ds, 99)->valid, run3.valid);
  EXPECT_EQ(BuildSplit(Parse("split { random { valid_pct: 0.25 } seed: 7 }").split(), ds, 1)->valid,
            RandomSplit(ds.examples.size(), 0.25, 7).valid);
}

TEST(DataConfigTest, BuildSplitRefusesAnUnsetSplitAndNamesTheFieldItCannotFollow) {
  const absl::StatusOr<Split> unset = BuildSplit(SplitConfig(), Patients(), 3);
  EXPECT_EQ(unset.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(unset.status().message().find("data.split: not set"), std::string::npos);

  const absl::StatusOr<Split> too_many =
      BuildSplit(Parse("split { patient_kfold { folds: 40 fold: 0 } }").split(), Patients(), 3);
  EXPECT_EQ(too_many.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(too_many.status().message().find("data.split.patient_kfold: "), std::string::npos)
      << too_many.status();
}

// One source of defaults: the option structs' defaults are their config messages', so an empty
// config builds exactly a default-constructed struct.
TEST(DataConfigTest, EmptyConfigsBuildTheOptionStructsDefaults) {
  const LoaderOptions defaults;
  const LoaderOptions built = *BuildLoaderOptions(DataConfig(), LoaderRole::kEvaluation,
                                                  /*seed=*/0, /*default_threads=*/0);
  EXPECT_EQ(built.batch_size, defaults.batch_size);
  EXPECT_EQ(built.image_size, defaults.image_size);
  EXPECT_EQ(built.image_size, 170);  // the study's fastai size, as documented in the proto
  EXPECT_EQ(built.shuffle, defaults.shuffle);
  EXPECT_EQ(built.drop_last, defaults.drop_last);
  EXPECT_EQ(built.augment, defaults.augment);
  EXPECT_EQ(built.mean, defaults.mean);
  EXPECT_EQ(built.std, defaults.std);
  EXPECT_EQ(built.threads, defaults.threads);
  EXPECT_EQ(built.prefetch, defaults.prefetch);
  EXPECT_EQ(built.seed, defaults.seed);
  EXPECT_EQ(built.rank, defaults.rank);
  EXPECT_EQ(built.world_size, defaults.world_size);

  const SyntheticOptions synthetic_defaults;
  const SyntheticOptions synthetic = BuildSyntheticOptions(SyntheticFallback(), /*seed=*/0);
  EXPECT_EQ(synthetic.num_images, synthetic_defaults.num_images);
  EXPECT_EQ(synthetic.image_size, synthetic_defaults.image_size);
  EXPECT_EQ(synthetic.hard_negative_fraction, synthetic_defaults.hard_negative_fraction);
  EXPECT_EQ(synthetic.difficulty, synthetic_defaults.difficulty);
  EXPECT_EQ(synthetic.num_patients, synthetic_defaults.num_patients);
  EXPECT_EQ(synthetic.seed, synthetic_defaults.seed);
}

}  // namespace
}  // namespace malaria::data
