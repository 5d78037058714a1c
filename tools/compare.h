// Comparing runs across a team: the study's two tables (best and final accuracy per model and
// stage; average time per epoch per model and stage), the final models' FN/FP, AUC and
// patient-level accuracy, the wall time each run took to reach each validation accuracy, a k-fold
// experiment's folds folded into mean +- sd (experiments/kfold.h), the config fields that differ
// between the runs (only those), and their git commits. As text for the terminal, or as one
// self-contained HTML page with the learning curves overlaid and the confusion matrices side by
// side.
//
//   absl::StatusOr<Comparison> c = CollectRuns({"runs/resnet34_two_stage",
//   "runs/resnet50_two_stage"}); std::cout << TextReport(*c);
//   RETURN_IF_ERROR(base::WriteFileAtomically("compare.html", HtmlReport(*c)));
#ifndef MALARIA_TOOLS_COMPARE_H_
#define MALARIA_TOOLS_COMPARE_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "base/text_table.h"
#include "experiments/store/kfold.h"
#include "experiments/store/run_reader.h"
#include "google/protobuf/message.h"

namespace malaria::tools {

struct Comparison {
  std::vector<experiments::LoadedRun> runs;
  std::vector<std::string> skipped;  // runs that could not be read, with the reason
  // The runs' k-fold summaries with their pooled out-of-fold predictions, made once by KFolds
  // (reading every fold's predictions) for both reports.
  mutable std::optional<std::vector<experiments::KFoldSummary>> kfolds;
  // Every two of them paired (with their pools' paired bootstrap), made once by Pairs.
  mutable std::optional<std::vector<experiments::PairedKFolds>> pairs;
};

// KFolds returns the comparison's k-fold summaries (SummarizeKFolds, then AddOutOfFold), made on
// the first call.
const std::vector<experiments::KFoldSummary>& KFolds(const Comparison& comparison);

// Pairs returns every two of KFolds' summaries paired (PairAll), made on the first call.
const std::vector<experiments::PairedKFolds>& Pairs(const Comparison& comparison);

// CollectRuns reads every run at or below each path (run directories, experiment folders, tracker
// roots). Unreadable runs, paths that do not exist and folders holding no run are listed in
// `skipped` with the reason; NotFound, listing those, if no run is readable at all.
absl::StatusOr<Comparison> CollectRuns(const std::vector<std::string>& paths);

// FlattenFields returns every set field of `message` as "path" -> "value", with proto field names,
// dots and [i] for repeated entries ("training.stage[1].lr.slice.start" -> "1e-06").
std::map<std::string, std::string> FlattenFields(const google::protobuf::Message& message);

// DifferingFields returns the paths whose values are not the same in every map (missing counts as
// different), sorted.
std::vector<std::string> DifferingFields(
    const std::vector<std::map<std::string, std::string>>& configs);

// RunLabel returns "<experiment>/<run id>".
std::string RunLabel(const experiments::LoadedRun& run);

// The tables compare_runs prints and the dashboard shows (cells already formatted): runs (model,
// status, dataset, split, commit), the study's two (best and final accuracy per model and stage;
// seconds per epoch per model and stage), the final models, the wall time to each accuracy
// threshold (header "run" only when no run records one), and the config fields that differ (no rows
// when the configs are identical).
struct ComparisonTables {
  base::TextTable runs, accuracy, time, final, reached, config;
};
ComparisonTables MakeTables(const std::vector<experiments::LoadedRun>& runs);

// ShortCommit returns the first 10 hex digits, " (dirty)" when the tree had changes, or "unknown".
std::string ShortCommit(const experiments::RunInfo& info);

// SplitName returns "patient 0.10", "patient fold 0/5" or "random 0.20".
std::string SplitName(const experiments::LoadedRun& run);

std::string TextReport(const Comparison& comparison);
std::string HtmlReport(const Comparison& comparison);

}  // namespace malaria::tools

#endif  // MALARIA_TOOLS_COMPARE_H_
