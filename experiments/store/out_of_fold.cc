#include "experiments/store/out_of_fold.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/files.h"
#include "data/dataset.h"
#include "evaluation/intervals.h"
#include "evaluation/metrics.h"
#include "experiments/config.h"

namespace malaria::experiments {

absl::StatusOr<PooledOutOfFold> PoolOutOfFold(const KFoldSummary& summary) {
  if (!summary.missing.empty() || summary.runs.empty()) {
    return absl::FailedPreconditionError(
        absl::StrFormat("%d of %d folds completed: out-of-fold predictions need every fold",
                        summary.present.size(), summary.folds));
  }
  PooledOutOfFold pooled;
  auto set = std::make_shared<evaluation::PredictionSet>();
  evaluation::EvaluationConfig config;
  std::set<std::string> seen;
  for (size_t f = 0; f < summary.runs.size(); ++f) {
    absl::StatusOr<LoadedRun> run = LoadRun(summary.runs[f]);
    if (!run.ok()) return run.status();
    const std::vector<std::string> classes(run->final_report.classes().begin(),
                                           run->final_report.classes().end());
    if (f == 0) {
      pooled.classes = classes;
      const auto positive =
          std::find(classes.begin(), classes.end(), run->final_report.positive_class());
      if (positive == classes.end()) {
        return absl::FailedPreconditionError(
            absl::StrCat(summary.runs[f], ": its report names no positive class"));
      }
      pooled.positive = static_cast<int>(positive - classes.begin());
      config = run->config.evaluation();
    } else if (classes != pooled.classes) {
      return absl::FailedPreconditionError(
          absl::StrCat(summary.runs[f], " has other classes than ", summary.runs[0]));
    }
    const std::string file = run->dir.File("predictions.csv");
    absl::StatusOr<std::string> csv = base::ReadFile(file);
    if (!csv.ok()) {
      return absl::FailedPreconditionError(absl::StrCat("fold ", summary.present[f], ": ", file,
                                                        " cannot be read (", csv.status().message(),
                                                        ")"));
    }
    absl::StatusOr<evaluation::PredictionSet> fold =
        evaluation::ReadPredictionsCsv(*csv, file, pooled.classes, [](const std::string& path) {
          return data::PatientFromFileName(std::filesystem::path(path).filename().string());
        });
    if (!fold.ok()) return fold.status();
    for (int i = 0; i < fold->size(); ++i) {
      if (!seen.insert(fold->paths[i]).second) {
        return absl::FailedPreconditionError(
            absl::StrCat(fold->paths[i], " is in the validation set of two folds (fold ",
                         summary.present[f], "): these are not the folds of one patient split"));
      }
    }
    set->num_classes = fold->num_classes;
    set->probabilities.insert(set->probabilities.end(), fold->probabilities.begin(),
                              fold->probabilities.end());
    set->labels.insert(set->labels.end(), fold->labels.begin(), fold->labels.end());
    set->losses.insert(set->losses.end(), fold->losses.begin(), fold->losses.end());
    set->paths.insert(set->paths.end(), fold->paths.begin(), fold->paths.end());
    set->groups.insert(set->groups.end(), fold->groups.begin(), fold->groups.end());
  }
  double loss = 0;
  for (float l : set->losses) loss += l;
  set->mean_loss = set->size() > 0 ? loss / set->size() : 0;
  pooled.report = evaluation::Evaluate(*set, pooled.classes, pooled.positive, config);
  evaluation::BootstrapOptions options;
  options.replicates = config.bootstrap_replicates() > 0 ? config.bootstrap_replicates() : 2000;
  options.seed = config.bootstrap_seed();
  *pooled.report.mutable_intervals() =
      evaluation::PatientIntervalsOf(*set, pooled.positive, pooled.report, options);
  pooled.predictions = std::move(set);
  return pooled;
}

void AddOutOfFold(std::vector<KFoldSummary>* summaries) {
  for (KFoldSummary& s : *summaries) {
    absl::StatusOr<PooledOutOfFold> pooled = PoolOutOfFold(s);
    if (pooled.ok()) {
      s.pooled = *std::move(pooled);
      s.pooled_note.clear();
    } else {
      s.pooled.reset();
      s.pooled_note = std::string(pooled.status().message());
    }
  }
}

absl::Status WriteOutOfFold(const std::string& folder, const PooledOutOfFold& pooled) {
  if (absl::Status s = base::MakeDirs(folder); !s.ok()) return s;
  const evaluation::PredictionSet& p = *pooled.predictions;
  if (absl::Status s = base::WriteFileAtomically(base::JoinPath(folder, "predictions.csv"),
                                                 evaluation::PredictionsCsv(p, pooled.classes));
      !s.ok()) {
    return s;
  }
  const double fraction =
      pooled.report.has_patients() ? pooled.report.patients().diagnosis_threshold() : 0.25;
  if (absl::Status s = base::WriteFileAtomically(
          base::JoinPath(folder, "patients.csv"),
          evaluation::PatientCsv(evaluation::PerPatient(p, pooled.positive, fraction)));
      !s.ok()) {
    return s;
  }
  return base::WriteFileAtomically(base::JoinPath(folder, "metrics.pbtxt"), ToText(pooled.report));
}

}  // namespace malaria::experiments
