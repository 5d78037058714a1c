#include "tools/dashboard/handler.h"

#include <chrono>
#include <filesystem>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/files.h"
#include "base/test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tools/dashboard/fixture.h"

namespace malaria::tools {
namespace {

using json = nlohmann::json;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

// Folds 0 and 1 (runs fold0, fold1) of a 3-fold experiment whose final models score `accuracy`.
void WriteTwoFolds(const std::string& root, const std::string& experiment, double accuracy,
                   int epochs = 4) {
  for (int fold = 0; fold < 2; ++fold) {
    FixtureRun k;
    k.experiment = experiment;
    k.run_id = absl::StrCat("fold", fold);
    k.fold = fold;
    k.folds = 3;
    k.epochs = k.epochs_done = epochs;
    k.tflop_per_epoch = 2;
    k.final_accuracy = accuracy;
    EXPECT_TRUE(WriteFixtureRun(root, k).ok());
  }
}

// A root with two runs of one experiment that differ in their learning rate, two folds of a
// k-fold experiment, and a run whose description is a script tag.
std::string MakeRoot(const std::string& name) {
  const std::string root = base::TestDir(name);
  FixtureRun r;
  r.experiment = "lr";
  r.run_id = "a";
  r.lr = 1e-3;
  r.pictures = true;
  r.evaluation = true;
  EXPECT_TRUE(WriteFixtureRun(root, r).ok());
  r.run_id = "b";
  r.lr = 3e-3;
  r.final_accuracy = 0.97;
  r.evaluation = false;
  EXPECT_TRUE(WriteFixtureRun(root, r).ok());
  WriteTwoFolds(root, "kfold", 0.95);
  FixtureRun x;
  x.experiment = "hostile";
  x.run_id = "x";
  x.description = "<script>alert(1)</script>";
  EXPECT_TRUE(WriteFixtureRun(root, x).ok());
  return root;
}

json Parse(const std::string& body) { return json::parse(body); }

TEST(DashboardHandlerTest, RunsListHasEveryRunAndFiltersBySearch) {
  DashboardHandler h(MakeRoot("runs"));
  const json all = Parse(h.RunsJson(""));
  ASSERT_EQ(all["runs"].size(), 5u);
  // Sorted by id: hostile/x, kfold/fold0, kfold/fold1, lr/a, lr/b.
  const json& a = all["runs"][2];
  EXPECT_EQ(all["runs"][3]["id"], "lr/a");
  EXPECT_EQ(all["runs"][3]["status"], "COMPLETED");
  EXPECT_EQ(all["runs"][3]["user"], "alice");
  EXPECT_EQ(all["runs"][3]["model"], "resnet18");
  EXPECT_EQ(all["runs"][3]["split"], "patient 0.10");
  EXPECT_EQ(all["runs"][3]["dataset"], "SYNTHETIC");
  EXPECT_NEAR(all["runs"][4]["final_accuracy"].get<double>(), 0.97, 0.01);
  EXPECT_EQ(a["kfold"]["fold"], 1);
  EXPECT_EQ(all["runs"][0]["description"], "<script>alert(1)</script>")
      << "kept as data; the page shows it as text";
  const json found = Parse(h.RunsJson("lr/ 0.003"));
  ASSERT_EQ(found["runs"].size(), 1u);
  EXPECT_EQ(found["runs"][0]["id"], "lr/b");
}

// The list keeps finished runs' summaries between requests; a run that changes, a new run and a
// removed run show on the next request, and a search still filters the cached summaries.
TEST(DashboardHandlerTest, RunsListFollowsRunsThatChangeComeAndGo) {
  const std::string root = base::TestDir("changing");
  FixtureRun r = RunningFixture("exp", "a", 8, 3);
  ASSERT_TRUE(WriteFixtureRun(root, r).ok());
  DashboardHandler h(root);
  json runs = Parse(h.RunsJson(""))["runs"];
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0]["status"], "RUNNING");
  EXPECT_EQ(runs[0]["progress"]["epochs_done"], 3);

  r.status = "COMPLETED";
  r.epochs_done = 8;
  r.final_accuracy = 0.91;
  ASSERT_TRUE(WriteFixtureRun(root, r).ok());
  r.run_id = "b";
  r.lr = 1e-2;
  ASSERT_TRUE(WriteFixtureRun(root, r).ok());
  runs = Parse(h.RunsJson(""))["runs"];
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0]["status"], "COMPLETED");
  EXPECT_EQ(runs[0]["progress"], nullptr);
  EXPECT_NEAR(runs[0]["final_accuracy"].get<double>(), 0.91, 0.01);
  EXPECT_EQ(runs[1]["id"], "exp/b");
  EXPECT_EQ(Parse(h.RunsJson(""))["runs"], runs) << "finished runs served again from the cache";
  ASSERT_EQ(Parse(h.RunsJson("0.01"))["runs"].size(), 1u);
  EXPECT_EQ(Parse(h.RunsJson("0.01"))["runs"][0]["id"], "exp/b");

  std::filesystem::remove_all(root + "/exp/a");
  runs = Parse(h.RunsJson(""))["runs"];
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0]["id"], "exp/b");
}

// A RUNNING run on another machine cannot be checked for its process: after three epochs' time
// (at least 10 minutes) without a write it is flagged stale.
TEST(DashboardHandlerTest, RunningRunsThatStopWritingAreFlaggedStale) {
  const std::string root = base::TestDir("stale");
  FixtureRun r = RunningFixture("exp", "fresh", 8, 2);
  r.host = "another-machine";
  ASSERT_TRUE(WriteFixtureRun(root, r).ok());
  r.run_id = "silent";
  ASSERT_TRUE(WriteFixtureRun(root, r).ok());
  const auto two_hours_ago = std::filesystem::file_time_type::clock::now() - std::chrono::hours(2);
  for (const char* f : {"run_info.pbtxt", "metrics.csv", "config.pbtxt"}) {
    std::filesystem::last_write_time(root + "/exp/silent/" + f, two_hours_ago);
  }
  DashboardHandler h(root);
  const json runs = Parse(h.RunsJson(""))["runs"];
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0]["id"], "exp/fresh");
  EXPECT_EQ(runs[0]["progress"]["stale"], false);
  EXPECT_EQ(runs[0]["progress"]["epochs_done"], 2);
  EXPECT_EQ(runs[1]["status"], "RUNNING");
  EXPECT_EQ(runs[1]["progress"]["stale"], true);
  EXPECT_GT(runs[1]["progress"]["seconds_since_update"].get<double>(), 7000);
}

TEST(DashboardHandlerTest, RunPageHasConfigEpochsPicturesAndEvaluations) {
  DashboardHandler h(MakeRoot("run"));
  const DashboardResponse r = h.RunJson("lr/a");
  ASSERT_EQ(r.status, 200);
  const json j = Parse(r.body);
  EXPECT_THAT(j["config_text"].get<std::string>(), HasSubstr("architecture: \"resnet18\""));
  EXPECT_THAT(j["run_info_text"].get<std::string>(), HasSubstr("status: COMPLETED"));
  EXPECT_EQ(j["metrics"]["columns"][0], "stage");
  ASSERT_EQ(j["metrics"]["rows"].size(), 4u);
  EXPECT_TRUE(j["metrics"]["rows"][0][4].is_number()) << "accuracy is a number";
  std::vector<std::string> pictures;
  for (const json& p : j["pictures"]) pictures.push_back(p["name"]);
  EXPECT_THAT(pictures, Contains("learning_curves.png"));
  EXPECT_THAT(pictures, Contains("roc.png"));
  EXPECT_EQ(j["pictures"][0]["url"].get<std::string>().rfind("/files/lr/a/", 0), 0u);
  ASSERT_EQ(j["evaluations"].size(), 1u);
  EXPECT_EQ(j["evaluations"][0]["name"], "evaluations/20261202-090000");
  EXPECT_THAT(j["evaluations"][0]["metrics_text"].get<std::string>(), HasSubstr("0.9400"));
  EXPECT_EQ(h.RunJson("lr/none").status, 404);

  // Names with spaces or '#' (an experiment's name is the user's) give working, encoded links.
  FixtureRun odd;
  odd.experiment = "my exp#1";
  odd.run_id = "r";
  odd.pictures = true;
  ASSERT_TRUE(WriteFixtureRun(h.root(), odd).ok());
  const json o = Parse(h.RunJson("my exp#1/r").body);
  ASSERT_FALSE(o["pictures"].empty());
  const std::string url = o["pictures"][0]["url"];
  EXPECT_EQ(url.rfind("/files/my%20exp%231/r/", 0), 0u) << url;
  EXPECT_EQ(h.ResolveFile("my exp#1/r/" + o["pictures"][0]["name"].get<std::string>()).status, 200);
  EXPECT_EQ(h.RunJson("../lr/a").status, 404);
}

TEST(DashboardHandlerTest, CompareShowsOnlyDifferingFieldsAndFoldsKFolds) {
  DashboardHandler h(MakeRoot("compare"));
  const json j = Parse(h.CompareJson({"lr/a", "lr/b", "nope/x"}));
  ASSERT_EQ(j["runs"].size(), 2u);
  ASSERT_EQ(j["missing"].size(), 1u);
  EXPECT_THAT(j["missing"][0].get<std::string>(), HasSubstr("nope/x"));
  std::vector<std::string> fields;
  for (const json& row : j["tables"]["config"]["rows"]) fields.push_back(row[0]);
  EXPECT_THAT(fields, Contains("training.stage[0].lr.max"));
  EXPECT_THAT(fields, Not(Contains("model.architecture")));
  EXPECT_EQ(j["tables"]["accuracy"]["title"],
            "Best and final validation accuracy per model and stage");
  EXPECT_EQ(j["tables"]["accuracy"]["rows"].size(), 2u);
  EXPECT_EQ(j["metrics"]["lr/a"]["rows"].size(), 4u);
  EXPECT_EQ(j["numeric_config"]["values"]["lr/b"]["training.stage[0].lr.max"], 0.003);
  EXPECT_NEAR(j["final_metrics"]["lr/b"]["accuracy"].get<double>(), 0.97, 0.01);
  EXPECT_GE(j["pictures"]["lr/a"].size(), 2u);

  const json k = Parse(h.CompareJson({"kfold/fold0", "kfold/fold1"}));
  ASSERT_EQ(k["kfold"].size(), 1u);
  EXPECT_EQ(k["kfold"][0]["folds"], 3);
  EXPECT_EQ(k["kfold"][0]["missing"], json::array({2}));
  EXPECT_EQ(k["kfold"][0]["rows"].back()[0], "mean +- sd");
}

// Two k-fold experiments on the same folds: the one selected later is paired by fold against the
// one selected first.
TEST(DashboardHandlerTest, ComparePairsKFoldExperimentsByFold) {
  const std::string root = MakeRoot("paired");
  WriteTwoFolds(root, "kfold_longer", 0.97, 6);  // the kfold experiment's folds end at 0.95
  DashboardHandler h(root);
  const json j = Parse(
      h.CompareJson({"kfold_longer/fold0", "kfold/fold0", "kfold/fold1", "kfold_longer/fold1"}));
  ASSERT_EQ(j["paired"].size(), 1u);
  const json& p = j["paired"][0];
  EXPECT_EQ(p["a"], "kfold_longer");  // selected first: the baseline
  EXPECT_EQ(p["b"], "kfold");
  EXPECT_EQ(p["folds"], json::array({0, 1}));
  EXPECT_EQ(p["header"][3], "difference (mean +- sd)");
  EXPECT_EQ(p["rows"][0][0], "accuracy");
  EXPECT_EQ(p["rows"][0][3], "-0.0200 +- 0.0000");
  EXPECT_EQ(p["rows"][0][6], "0 / 2");

  // Accuracy against compute: kfold_longer's folds trained 6 epochs of 2 TFLOP each, kfold's 4.
  ASSERT_EQ(j["pareto"].size(), 2u);
  for (const json& point : j["pareto"]) {
    const bool longer = point["experiment"] == "kfold_longer";
    // The fixture's final report counts whole cells: 0.9467 and 0.9667 for the curves' 0.95, 0.97.
    EXPECT_NEAR(point["accuracy"].get<double>(), longer ? 0.97 : 0.95, 0.004) << point;
    EXPECT_NEAR(point["tflop"].get<double>(), longer ? 12 : 8, 1e-6) << point;
    EXPECT_NEAR(point["minutes"].get<double>(), longer ? 6 : 4, 1e-6) << point;  // 60 s epochs
    EXPECT_TRUE(point["accuracy_sd"].is_number()) << point;
    EXPECT_TRUE(point["front_tflop"].get<bool>()) << point;  // cheaper, or more accurate
    EXPECT_TRUE(point["front_minutes"].get<bool>()) << point;
  }
}

TEST(DashboardHandlerTest, SweepsAreListedAndShownFromTheirTaggedRuns) {
  const std::string root = base::TestDir("sweeps");
  ASSERT_TRUE(base::MakeDirs(root + "/sweeps").ok());
  ASSERT_TRUE(base::WriteFileAtomically(root + "/sweeps/s.pbtxt",
                                        "name: \"s\" experiment: \"x.pbtxt\" folds: [0, 1]\n"
                                        "axis { field: \"seed\" values: [\"1\", \"2\", \"3\"] }\n"
                                        "grid {}\n")
                  .ok());
  ASSERT_TRUE(base::WriteFileAtomically(root + "/sweeps/broken.pbtxt", "garbage {").ok());
  // A kept plan of 10^8 trials is named, not listed: the other sweeps are shown all the same.
  ASSERT_TRUE(base::WriteFileAtomically(
                  root + "/sweeps/huge.pbtxt",
                  "config { name: \"huge\" experiment: \"x.pbtxt\" grid {}\n"
                  "axis { field: \"seed\" range { min: 1 max: 1e9 points: 10000 } }\n"
                  "axis { field: \"data.batch_size\" range { min: 1 max: 1e9 points: 10000 } } }\n"
                  "experiment_folds: 2\n")
                  .ok());
  const double accuracy[3] = {0.90, 0.96, 0.93};
  for (int trial = 0; trial < 3; ++trial) {
    for (int fold = 0; fold < 2; ++fold) {
      if (trial == 2 && fold == 1) continue;  // trial 2 is half done
      FixtureRun r;
      r.experiment = absl::StrCat("s-t00", trial);
      r.run_id = absl::StrCat("20261205-07", trial, fold, "000");
      r.fold = fold;
      r.folds = 2;
      r.final_accuracy = accuracy[trial];
      r.sweep = "s";
      r.trial = trial;
      r.assignment = {absl::StrCat("seed=", trial + 1)};
      r.end_time = absl::StrCat("2026-12-05T07:0", trial, ":", fold, "0Z");
      ASSERT_TRUE(WriteFixtureRun(root, r).ok());
    }
  }
  DashboardHandler h(root);
  DashboardResponse r = h.Handle("/api/sweeps", {});
  ASSERT_EQ(r.status, 200);
  json list = json::parse(r.body)["sweeps"];
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0]["name"], "broken");
  EXPECT_THAT(list[0]["error"].get<std::string>(), HasSubstr("broken.pbtxt"));
  EXPECT_EQ(list[1]["name"], "huge");
  EXPECT_THAT(list[1]["error"].get<std::string>(), HasSubstr("the grid has 1e+08 combinations"));
  EXPECT_EQ(list[2]["trials"], 3);
  EXPECT_EQ(list[2]["done"], 2);
  EXPECT_EQ(list[2]["finished"], false);
  EXPECT_EQ(list[2]["best"]["trial"], 1);

  r = h.Handle("/api/sweep", {{"name", "s"}});
  ASSERT_EQ(r.status, 200);
  const json sweep = json::parse(r.body);
  EXPECT_EQ(sweep["axes"], json::array({"seed"}));
  ASSERT_EQ(sweep["trials"].size(), 3u);
  const json& best = sweep["trials"][1];
  EXPECT_EQ(best["best"], true);
  EXPECT_EQ(best["values"], json::array({"2"}));
  EXPECT_EQ(best["numeric"], json::array({2.0}));
  EXPECT_EQ(best["folds"][1]["run"], "s-t001/20261205-0711000");
  EXPECT_EQ(best["status"], "done");
  EXPECT_EQ(sweep["trials"][2]["status"], "partial");
  EXPECT_TRUE(sweep["trials"][2]["objective"].is_null());
  ASSERT_EQ(sweep["best_so_far"].size(), 2u);  // trials 0 then 1, each a new best
  EXPECT_EQ(sweep["best_so_far"][1]["trial"], 1);
  EXPECT_EQ(sweep["best_so_far"][1]["new_best"], true);
  EXPECT_THAT(sweep["summary"].get<std::string>(), HasSubstr("best: trial 1"));
  EXPECT_EQ(h.Handle("/api/sweep", {{"name", "nope"}}).status, 404);
  EXPECT_EQ(h.Handle("/api/sweep", {{"name", "../x"}}).status, 404);
  EXPECT_EQ(h.Handle("/api/sweep", {{"name", "../sweeps/s"}}).status, 404);
}

TEST(DashboardHandlerTest, ServesFilesOnlyInsideTheRoot) {
  const std::string root = MakeRoot("files");
  const std::string outside = base::TestDir("outside");
  ASSERT_TRUE(base::WriteFileAtomically(outside + "/secret.txt", "secret").ok());
  std::filesystem::create_directory_symlink(outside, root + "/lr/a/link_out");
  std::filesystem::create_symlink(outside + "/secret.txt", root + "/lr/a/secret_link.txt");
  std::filesystem::create_symlink(root + "/lr/a/metrics.csv", root + "/lr/b/inside_link.csv");
  DashboardHandler h(root);
  DashboardResponse ok = h.ResolveFile("lr/a/metrics.csv");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.content_type, "text/csv; charset=utf-8");
  EXPECT_GT(ok.file_size, 0);
  EXPECT_EQ(h.ResolveFile("lr/a/roc.png").content_type, "image/png");
  EXPECT_EQ(h.ResolveFile("lr/b/inside_link.csv").status, 200) << "a link that stays inside";
  for (const std::string& bad : std::vector<std::string>{
           "../outside/secret.txt", "lr/../../outside/secret.txt", "/etc/passwd",
           "lr//a/metrics.csv", "lr/./a/metrics.csv", std::string("lr/a/metrics.csv\0.png", 21)}) {
    EXPECT_EQ(h.ResolveFile(bad).status, 400) << bad;
  }
  for (const std::string& missing : std::vector<std::string>{
           "lr/a/link_out/secret.txt", "lr/a/secret_link.txt", "lr/a/none.csv", "lr/a", ""}) {
    EXPECT_EQ(h.ResolveFile(missing).status, 404) << missing;
  }
  EXPECT_EQ(h.Handle("/files/" + std::string(5000, 'a'), {}).status, 414);
}

TEST(DashboardHandlerTest, PageAndScriptsAreEmbeddedWithAContentSecurityPolicy) {
  DashboardHandler h(MakeRoot("assets"));
  const DashboardResponse page = h.Handle("/", {});
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_THAT(page.body, HasSubstr("/static/app.js"));
  bool csp = false;
  for (const auto& [name, value] : page.headers) {
    csp |= name == "Content-Security-Policy" && absl::StrContains(value, "default-src 'self'");
  }
  EXPECT_TRUE(csp);
  for (const char* path :
       {"/static/app.js", "/static/compare.js", "/static/sweep.js", "/static/style.css",
        "/static/uPlot.iife.min.js", "/static/uPlot.min.css"}) {
    const DashboardResponse r = h.Handle(path, {});
    EXPECT_EQ(r.status, 200) << path;
    EXPECT_GT(r.body.size(), 100u) << path;
  }
  EXPECT_EQ(h.Handle("/static/none.js", {}).status, 404);
}

}  // namespace
}  // namespace malaria::tools
