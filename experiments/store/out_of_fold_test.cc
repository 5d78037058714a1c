#include "experiments/store/out_of_fold.h"

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/files.h"
#include "base/test_util.h"
#include "evaluation/metrics.h"
#include "experiments/config.h"
#include "experiments/store/kfold.h"
#include "experiments/store/run_reader.h"
#include "experiments/store/tracker.h"
#include "gtest/gtest.h"

namespace malaria::experiments {
namespace {

const std::vector<std::string> kClasses = {"Parasitized", "Uninfected"};

// A completed fold run of `experiment` under `root` whose final predictions are `p_parasitized`
// for the cells of patients `patients` (4 cells each: 2 parasitized, 2 uninfected).
std::string WriteFold(const std::string& root, const std::string& experiment, int fold,
                      const std::vector<int>& patients, const std::vector<float>& p_parasitized) {
  const std::string dir = base::JoinPath(root, absl::StrCat(experiment, "/2026120", fold));
  EXPECT_TRUE(base::MakeDirs(base::JoinPath(dir, "split")).ok());
  evaluation::PredictionSet p;
  p.num_classes = 2;
  std::string listing;
  for (size_t k = 0; k < patients.size(); ++k) {
    for (int c = 0; c < 4; ++c) {
      const int label = c < 2 ? 0 : 1;
      const float q = p_parasitized[4 * k + c];
      p.probabilities.push_back(q);
      p.probabilities.push_back(1 - q);
      p.labels.push_back(label);
      p.losses.push_back(0.1f);
      p.paths.push_back(absl::StrCat(kClasses[label], "/C", patients[k], "P", patients[k],
                                     "ThinF_cell_", c, ".png"));
      listing += p.paths.back() + "\n";
    }
  }
  EXPECT_TRUE(base::WriteFileAtomically(base::JoinPath(dir, "predictions.csv"),
                                        evaluation::PredictionsCsv(p, kClasses))
                  .ok());
  EXPECT_TRUE(base::WriteFileAtomically(base::JoinPath(dir, "split/valid.txt"), listing).ok());
  ExperimentConfig config;
  config.set_name(experiment);
  config.mutable_data()->mutable_split()->mutable_patient_kfold()->set_folds(2);
  config.mutable_data()->mutable_split()->mutable_patient_kfold()->set_fold(fold);
  config.mutable_evaluation()->set_bootstrap_replicates(500);
  EXPECT_TRUE(base::WriteFileAtomically(base::JoinPath(dir, "config.pbtxt"), ToText(config)).ok());
  evaluation::ClassificationReport report =
      evaluation::Evaluate(p.probabilities, p.labels, kClasses, 0, 0.1);
  EXPECT_TRUE(base::WriteFileAtomically(base::JoinPath(dir, "metrics.pbtxt"), ToText(report)).ok());
  RunInfo info;
  info.set_experiment(experiment);
  info.set_run_id(absl::StrCat("2026120", fold));
  info.set_status(RunInfo::COMPLETED);
  info.mutable_dataset()->set_fingerprint("same");
  EXPECT_TRUE(WriteRunInfo(RunDirectory::Open(dir), info).ok());
  return dir;
}

std::vector<LoadedRun> Runs(const std::string& root) {
  std::vector<LoadedRun> runs;
  for (const std::string& dir : FindRuns(root)) {
    absl::StatusOr<LoadedRun> run = LoadRun(dir);
    EXPECT_TRUE(run.ok()) << run.status();
    if (run.ok()) runs.push_back(*run);
  }
  return runs;
}

// The summaries of the k-fold experiments under `root`, pooled.
std::vector<KFoldSummary> Pooled(const std::string& root) {
  const std::vector<LoadedRun> runs = Runs(root);
  std::vector<KFoldSummary> s = SummarizeKFolds(runs);
  AddOutOfFold(&s, runs);
  return s;
}

// Two folds of two patients each: every cell once, from the fold that held its patient out; the
// pool is judged as one set, with intervals over its four patients, and leads the k-fold text.
TEST(OutOfFoldTest, FoldsArePooledAndJudgedAsOneSet) {
  const std::string root = base::TestDir("oof_pool");
  WriteFold(root, "exp", 0, {1, 2}, {0.9f, 0.8f, 0.2f, 0.1f, 0.9f, 0.4f, 0.3f, 0.1f});
  WriteFold(root, "exp", 1, {3, 4}, {0.7f, 0.9f, 0.6f, 0.1f, 0.9f, 0.9f, 0.1f, 0.2f});
  std::vector<KFoldSummary> s = Pooled(root);
  ASSERT_EQ(s.size(), 1u);
  ASSERT_TRUE(s[0].pooled.has_value()) << s[0].pooled_note;
  PooledOutOfFold& pooled = *s[0].pooled;
  EXPECT_FALSE(pooled.calibration.has_temperature());  // fitted only when asked
  ASSERT_EQ(pooled.predictions->size(), 16);
  EXPECT_EQ(pooled.predictions->groups[0], "P1");
  EXPECT_EQ(pooled.predictions->groups[15], "P4");
  // Wrong: fold 0's 0.4 parasitized cell; fold 1's 0.6 uninfected cell. 14 of 16 right.
  EXPECT_DOUBLE_EQ(pooled.report.accuracy(), 14.0 / 16);
  EXPECT_EQ(pooled.report.intervals().units(), 4);
  EXPECT_LE(pooled.report.intervals().accuracy().low(), 14.0 / 16);
  EXPECT_NE(KFoldText(s[0]).find("Pooled out-of-fold (each of 16 cells"), std::string::npos)
      << KFoldText(s[0]);
  EXPECT_NE(NewGroupText(pooled, 2).find("On a new group of 2 patients like these (95 % prediction "
                                         "interval): accuracy 87.5 % ("),
            std::string::npos)
      << NewGroupText(pooled, 2);

  const std::string folder = base::JoinPath(root, "out_of_fold/exp");
  EXPECT_EQ(OutOfFoldFolder(base::JoinPath(root, "exp/"), "exp"), folder);
  absl::StatusOr<std::string> kept = KeepOutOfFold(&s[0], base::JoinPath(root, "exp"));
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_NE(kept->find("On a new group of 4 patients"), std::string::npos) << *kept;
  EXPECT_NE(kept->find("No nested check: a nested check needs at least 3 folds"), std::string::npos)
      << *kept;
  EXPECT_NE(kept->find(folder), std::string::npos) << *kept;
  absl::StatusOr<std::string> csv = base::ReadFile(base::JoinPath(folder, "predictions.csv"));
  ASSERT_TRUE(csv.ok());
  absl::StatusOr<evaluation::PredictionSet> back = evaluation::ReadPredictionsCsv(
      *csv, "predictions.csv", kClasses, [](const std::string&) { return std::string(); });
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->paths, pooled.predictions->paths);
  EXPECT_TRUE(base::PathExists(base::JoinPath(folder, "metrics.pbtxt")));
  EXPECT_TRUE(base::PathExists(base::JoinPath(folder, "calibration.pbtxt")));
  // The folder beside the experiments holds no run.
  EXPECT_EQ(SummarizeKFolds(Runs(root))[0].present.size(), 2u);

  // It is the job's model: its two fold runs (named relative to it), the rules, the estimate.
  EXPECT_NE(kept->find("The model for new patients (model.pbtxt): the 2 fold models"),
            std::string::npos)
      << *kept;
  ASSERT_TRUE(IsKFoldModel(folder));
  absl::StatusOr<KeptKFoldModel> model = ReadKFoldModel(folder);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ(model->model.experiment(), "exp");
  EXPECT_EQ(model->model.folds(), 2);
  ASSERT_EQ(model->model.runs_size(), 2);
  EXPECT_TRUE(absl::StartsWith(model->model.runs(0), "../../exp/")) << model->model.runs(0);
  EXPECT_EQ(model->run_dirs[0], s[0].runs[0]);
  EXPECT_EQ(model->run_dirs[1], s[0].runs[1]);
  EXPECT_EQ(model->model.patients(), 4);
  EXPECT_EQ(model->model.cells(), 16);
  EXPECT_DOUBLE_EQ(model->model.estimate().accuracy().estimate(), 14.0 / 16);
  EXPECT_EQ(model->calibration.temperature(), pooled.calibration.temperature());
}

// A kept model whose pieces are gone or wrong is refused, naming the file and the field.
TEST(OutOfFoldTest, ABrokenKFoldModelIsNamed) {
  const std::string root = base::TestDir("oof_model_bad");
  WriteFold(root, "exp", 0, {1, 2}, {0.9f, 0.8f, 0.2f, 0.1f, 0.9f, 0.4f, 0.3f, 0.1f});
  const std::string fold1 =
      WriteFold(root, "exp", 1, {3, 4}, {0.7f, 0.9f, 0.6f, 0.1f, 0.9f, 0.9f, 0.1f, 0.2f});
  std::vector<KFoldSummary> s = Pooled(root);
  ASSERT_TRUE(KeepOutOfFold(&s[0], base::JoinPath(root, "exp")).ok());
  const std::string folder = base::JoinPath(root, "out_of_fold/exp");
  EXPECT_FALSE(IsKFoldModel(root));
  std::remove(base::JoinPath(fold1, "run_info.pbtxt").c_str());
  absl::StatusOr<KeptKFoldModel> model = ReadKFoldModel(folder);
  ASSERT_FALSE(model.ok());
  EXPECT_NE(model.status().message().find("model.pbtxt: runs[1]: "), std::string::npos)
      << model.status();
  EXPECT_NE(model.status().message().find("is not a run directory"), std::string::npos);
  std::remove(base::JoinPath(folder, "calibration.pbtxt").c_str());
  ASSERT_TRUE(
      base::WriteFileAtomically(base::JoinPath(folder, "model.pbtxt"), "runs: \"x\"\nfolds: two\n")
          .ok());
  model = ReadKFoldModel(folder);
  ASSERT_FALSE(model.ok());
  EXPECT_NE(model.status().message().find("model.pbtxt is not a readable k-fold model"),
            std::string::npos)
      << model.status();
  ASSERT_TRUE(
      base::WriteFileAtomically(
          base::JoinPath(folder, "model.pbtxt"),
          "runs: \"../../exp/" + std::filesystem::path(s[0].runs[0]).filename().string() + "\"\n")
          .ok());
  model = ReadKFoldModel(folder);
  ASSERT_FALSE(model.ok());
  EXPECT_NE(model.status().message().find("calibration.pbtxt is missing"), std::string::npos)
      << model.status();
}

// A fold without its predictions, or two folds holding one cell: no pool, and the reason.
TEST(OutOfFoldTest, WhatCannotBePooledIsSaid) {
  const std::string root = base::TestDir("oof_bad");
  WriteFold(root, "exp", 0, {1}, {0.9f, 0.8f, 0.2f, 0.1f});
  const std::string fold1 = WriteFold(root, "exp", 1, {1}, {0.9f, 0.8f, 0.2f, 0.1f});
  std::vector<KFoldSummary> s = Pooled(root);
  EXPECT_FALSE(s[0].pooled.has_value());
  EXPECT_NE(s[0].pooled_note.find("is in the validation set of two folds"), std::string::npos)
      << s[0].pooled_note;
  std::remove(base::JoinPath(fold1, "predictions.csv").c_str());
  s = Pooled(root);
  EXPECT_NE(s[0].pooled_note.find("fold 1: "), std::string::npos) << s[0].pooled_note;
  EXPECT_NE(KFoldText(s[0]).find("No pooled out-of-fold estimate: fold 1"), std::string::npos);
}

// Two experiments over the same cells: their pools' difference, resampled by patient together.
TEST(OutOfFoldTest, TwoExperimentsArePairedOnTheirPools) {
  const std::string root = base::TestDir("oof_pair");
  WriteFold(root, "a", 0, {1, 2}, {0.9f, 0.8f, 0.2f, 0.1f, 0.9f, 0.4f, 0.3f, 0.1f});
  WriteFold(root, "a", 1, {3, 4}, {0.7f, 0.9f, 0.6f, 0.1f, 0.9f, 0.9f, 0.1f, 0.2f});
  WriteFold(root, "b", 0, {1, 2}, {0.9f, 0.8f, 0.2f, 0.1f, 0.9f, 0.6f, 0.3f, 0.1f});
  WriteFold(root, "b", 1, {3, 4}, {0.7f, 0.9f, 0.4f, 0.1f, 0.9f, 0.9f, 0.1f, 0.2f});
  std::vector<KFoldSummary> s = Pooled(root);
  ASSERT_EQ(s.size(), 2u);
  absl::StatusOr<PairedKFolds> paired = PairKFolds(s[0], s[1]);
  ASSERT_TRUE(paired.ok()) << paired.status();
  ASSERT_TRUE(paired->pooled_difference.has_value());
  // b is right on both cells a got wrong: +2 of 16 cells, never behind in any resample.
  EXPECT_DOUBLE_EQ(paired->pooled_difference->accuracy.estimate, 2.0 / 16);
  EXPECT_GE(paired->pooled_difference->accuracy.low, 0);
  EXPECT_NE(PairedText(*paired).find("On the pooled out-of-fold predictions, b minus a"),
            std::string::npos)
      << PairedText(*paired);
}

// The nested check on three folds of 20 patients each, where every parasitized cell scores 0.4:
// each fold's rules, fitted on the other two folds (40 patients, fewer than 50), keep 0.5; fitted
// with a lower bar they find a threshold that is right on every cell of the fold they did not see.
TEST(OutOfFoldTest, RulesAreCheckedWhereTheyWereNotFitted) {
  PooledOutOfFold pooled;
  auto set = std::make_shared<evaluation::PredictionSet>();
  set->num_classes = 2;
  for (int k = 0; k < 60; ++k) {
    const std::string patient = (k % 2 == 0 ? "P" : "C") + std::to_string(k);
    for (int i = 0; i < 10; ++i) {
      const bool parasitized = k % 2 == 0 && i < 5;
      const float q = parasitized ? 0.4f : 0.1f;
      set->probabilities.push_back(q);
      set->probabilities.push_back(1 - q);
      set->labels.push_back(parasitized ? 0 : 1);
      set->losses.push_back(0);
      set->paths.push_back(absl::StrCat(patient, "_", i));
      set->groups.push_back(patient);
      pooled.fold.push_back(k % 3);
    }
  }
  pooled.predictions = set;
  pooled.classes = kClasses;
  pooled.positive = 0;
  evaluation::CalibrationPolicy policy;
  policy.bootstrap.replicates = 300;
  absl::StatusOr<NestedRulesCheck> strict = CheckRulesNested(pooled, policy);
  ASSERT_TRUE(strict.ok()) << strict.status();
  EXPECT_EQ(strict->folds, 3);
  EXPECT_EQ(strict->patients, 60);
  EXPECT_EQ(strict->infected, 30);
  EXPECT_EQ(strict->thresholds_fitted, 0);
  EXPECT_DOUBLE_EQ(strict->threshold_gain.accuracy.estimate, 0);
  policy.min_patients = 30;
  absl::StatusOr<NestedRulesCheck> loose = CheckRulesNested(pooled, policy);
  ASSERT_TRUE(loose.ok());
  EXPECT_EQ(loose->thresholds_fitted, 3);
  EXPECT_DOUBLE_EQ(loose->threshold_gain.accuracy.estimate, 0.25);  // 150 of 600 cells
  EXPECT_EQ(loose->fitted_right, 60);
  EXPECT_NE(NestedRulesText(*loose).find("diagnosis, fitted rule: 60 of 60 patients right"),
            std::string::npos)
      << NestedRulesText(*loose);
  pooled.fold.assign(pooled.fold.size(), 0);
  EXPECT_FALSE(CheckRulesNested(pooled, policy).ok());
}

}  // namespace
}  // namespace malaria::experiments
