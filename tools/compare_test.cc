#include "tools/compare.h"

#include "base/files.h"
#include "base/test_util.h"
#include "experiments/experiment.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "tools/dashboard/fixture.h"

namespace malaria::tools {
namespace {

using ::testing::HasSubstr;

experiments::ExperimentConfig Config(const std::string& text) {
  experiments::ExperimentConfig c;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &c));
  return c;
}

TEST(CompareTest, FlattensFieldsWithPathsAndIndices) {
  const auto fields =
      FlattenFields(Config("name: 'a' model { architecture: 'resnet34' } training { stage { name: "
                           "'s1' lr { max: 0.003 } } "
                           "stage { name: 's2' lr { slice { start: 1e-06 stop: 1e-05 } } } }"));
  EXPECT_EQ(fields.at("name"), "\"a\"");
  EXPECT_EQ(fields.at("model.architecture"), "\"resnet34\"");
  EXPECT_EQ(fields.at("training.stage[0].lr.max"), "0.003");
  EXPECT_EQ(fields.at("training.stage[1].lr.slice.start"), "1e-06");
  EXPECT_EQ(fields.count("training.stage[1].lr.max"), 0u);
}

TEST(CompareTest, OnlyDifferingFieldsAreListed) {
  const auto a = FlattenFields(Config("name: 'x' seed: 1 data { image_size: 64 batch_size: 32 }"));
  const auto b = FlattenFields(Config("name: 'x' seed: 2 data { image_size: 64 }"));
  EXPECT_EQ(DifferingFields({a, b}), (std::vector<std::string>{"data.batch_size", "seed"}));
  EXPECT_TRUE(DifferingFields({a, a}).empty());
}

// A COMPLETED fold of the 2-fold experiment "cv" (run id "2026120<fold>"), with `extra_config`
// appended to its config and a final report of `accuracy`.
experiments::LoadedRun FoldRun(int fold, double accuracy, const std::string& extra_config = "") {
  const std::string id = "2026120" + std::to_string(fold);
  experiments::LoadedRun run{experiments::RunDirectory::Open("/runs/cv/" + id)};
  run.info.set_experiment("cv");
  run.info.set_run_id(id);
  run.info.set_status(experiments::RunInfo::COMPLETED);
  run.config =
      Config("name: 'cv' data { split { patient_kfold { folds: 2 fold: " + std::to_string(fold) +
             " } } } " + extra_config);
  run.has_final_report = true;
  run.final_report.set_accuracy(accuracy);
  return run;
}

// The text report has each run's time to accuracy and folds a k-fold experiment into mean +- sd.
TEST(CompareTest, TimeToAccuracyAndKFoldAggregate) {
  Comparison c;
  for (int fold = 0; fold < 2; ++fold) {
    experiments::LoadedRun run =
        FoldRun(fold, 0.95 + 0.01 * fold, "evaluation { accuracy_thresholds: [0.95] }");
    experiments::AccuracyReached* r = run.info.add_time_to_accuracy();
    r->set_threshold(0.95);
    r->set_seconds(600 + 60 * fold);
    r->set_stage("train");
    r->set_epoch(5 + fold);
    if (fold == 1) r->set_training_tflop(12.34);
    c.runs.push_back(run);
  }
  const std::string text = TextReport(c);
  EXPECT_NE(text.find("Wall time and training compute to reach each validation accuracy"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("10.0 min (train 5)"), std::string::npos) << text;  // before compute counts
  EXPECT_NE(text.find("11.0 min, 12.3 TFLOP (train 6)"), std::string::npos) << text;
  EXPECT_NE(text.find("cv: patient-level 2-fold cross-validation, 2 of 2 folds"), std::string::npos)
      << text;
  EXPECT_NE(text.find("0.9550 +- 0.0071"), std::string::npos) << text;
}

// The final table shows the fixed-fraction patient rule and, from calibrated/metrics.pbtxt, the
// calibrated accuracy, parasitemia error and the fitted rule; the k-fold table folds them too.
TEST(CompareTest, CalibratedPatientColumnsBesideTheFixedRule) {
  Comparison c;
  for (int fold = 0; fold < 2; ++fold) {
    experiments::LoadedRun run = FoldRun(fold, 0.94);
    run.final_report.mutable_patients()->set_patients(26);
    run.final_report.mutable_patients()->set_diagnosis_accuracy(0.7692);
    run.has_calibrated_report = fold == 0;  // fold 1: a run from before calibration existed
    run.calibrated_report.set_accuracy(0.9438);
    run.calibrated_report.mutable_parasitemia()->set_mean_absolute_error(0.0247);
    run.calibrated_report.mutable_parasitemia()->set_diagnosis_accuracy(0.9615);
    run.calibrated_report.mutable_parasitemia()->set_diagnosis_threshold(0.0762);
    c.runs.push_back(run);
  }
  const ComparisonTables t = MakeTables(c.runs);
  ASSERT_EQ(t.final.rows.size(), 2u);
  ASSERT_EQ(t.final.header.size(), t.final.rows[0].size());
  EXPECT_EQ(t.final.header[7], "patient diagnosis accuracy (fixed fraction)");
  EXPECT_EQ(t.final.rows[0][7], "0.7692");
  EXPECT_EQ(t.final.rows[0][8], "0.9438");
  EXPECT_EQ(t.final.rows[0][9], "0.0247");
  EXPECT_EQ(t.final.rows[0][10], "0.9615 (>= 0.076)");
  EXPECT_EQ(t.final.rows[1][10], "-");
  const std::string text = TextReport(c);
  EXPECT_THAT(text, HasSubstr("fitted_patient_accuracy"));
  EXPECT_THAT(text, HasSubstr("0.9615 (1 fold)")) << text;
}

// Two k-fold experiments on the same validation cells are compared fold by fold, the one named
// later against the one named first, in the text and on the page.
TEST(CompareTest, KFoldExperimentsArePairedByFold) {
  const std::string root = base::TestDir("paired");
  Comparison c;
  for (const std::string experiment : {"longer", "base"}) {
    for (int fold = 0; fold < 2; ++fold) {
      experiments::LoadedRun run =
          FoldRun(fold, experiment == "base" ? 0.94 + 0.01 * fold : 0.95 + 0.01 * fold);
      const std::string dir = root + "/" + experiment + "/fold" + std::to_string(fold);
      run.dir = experiments::RunDirectory::Open(dir);
      run.info.set_experiment(experiment);
      run.config.set_name(experiment);
      ASSERT_TRUE(base::MakeDirs(dir + "/split").ok());
      ASSERT_TRUE(base::WriteFileAtomically(dir + "/split/valid.txt",
                                            "cells of fold " + std::to_string(fold))
                      .ok());
      c.runs.push_back(run);
    }
  }
  const std::string text = TextReport(c);
  EXPECT_THAT(text, HasSubstr("base against longer, paired over fold(s) 0, 1")) << text;
  EXPECT_THAT(text, HasSubstr("-0.0100 +- 0.0000")) << text;  // base is 0.01 below on each fold
  EXPECT_THAT(text, HasSubstr("0 / 2")) << text;
  EXPECT_THAT(HtmlReport(c), HasSubstr("<h2>Paired by fold: base against longer</h2>"));
}

TEST(CompareTest, NoRunsIsNotFound) {
  const absl::StatusOr<Comparison> c = CollectRuns({"/no/such/runs"});
  EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(c.status().message(), HasSubstr("/no/such/runs: does not exist"));
}

// A path that does not exist, a folder without runs and a damaged run are reported, in the text
// and on the page, and the readable run is still compared; no libprotobuf line reaches stderr.
TEST(CompareTest, SkippedPathsAndRunsAreReportedNotDropped) {
  const std::string root = base::TestDir("skipped");
  FixtureRun good;
  good.experiment = "exp";
  good.run_id = "good";
  ASSERT_TRUE(WriteFixtureRun(root, good).ok());
  good.run_id = "damaged";
  ASSERT_TRUE(WriteFixtureRun(root, good).ok());
  ASSERT_TRUE(base::WriteFileAtomically(root + "/exp/damaged/run_info.pbtxt", "status: {{").ok());
  ASSERT_TRUE(base::MakeDirs(root + "/empty").ok());
  testing::internal::CaptureStderr();
  const absl::StatusOr<Comparison> c =
      CollectRuns({root + "/exp", root + "/empty", root + "/missing"});
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->runs.size(), 1u);
  ASSERT_EQ(c->skipped.size(), 3u);
  EXPECT_THAT(c->skipped[0], HasSubstr("exp/damaged/run_info.pbtxt"));
  EXPECT_THAT(c->skipped[1], HasSubstr("empty: no run directory here"));
  EXPECT_THAT(c->skipped[2], HasSubstr("missing: does not exist"));
  EXPECT_THAT(TextReport(*c), HasSubstr("skipped: " + root + "/missing: does not exist"));
  const std::string html = HtmlReport(*c);
  EXPECT_THAT(html, HasSubstr("<ul id=\"skipped\">"));
  EXPECT_THAT(html, HasSubstr("missing: does not exist</li>"));
}

}  // namespace
}  // namespace malaria::tools
