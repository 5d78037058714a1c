#include "experiments/store/out_of_fold.h"

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/files.h"
#include "base/text_proto.h"
#include "data/dataset.h"
#include "evaluation/intervals.h"
#include "evaluation/metrics.h"
#include "experiments/config.h"
#include "experiments/store/tracker.h"

namespace malaria::experiments {

namespace {

// The calibration policy of the folds' evaluation config.
evaluation::CalibrationPolicy PolicyOf(const PooledOutOfFold& pooled) {
  evaluation::CalibrationPolicy policy;
  policy.fixed_patient_fraction = pooled.evaluation.patient_positive_fraction();
  policy.fixed_patient_min_cells = pooled.evaluation.patient_min_cells();
  if (pooled.evaluation.bootstrap_replicates() > 0) {
    policy.bootstrap.replicates = pooled.evaluation.bootstrap_replicates();
  }
  policy.bootstrap.seed = pooled.evaluation.bootstrap_seed();
  return policy;
}

}  // namespace

absl::StatusOr<PooledOutOfFold> PoolOutOfFold(const KFoldSummary& summary,
                                              const std::vector<LoadedRun>& runs) {
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
    const auto run = std::find_if(runs.begin(), runs.end(), [&](const LoadedRun& r) {
      return r.dir.path() == summary.runs[f];
    });
    if (run == runs.end()) {
      return absl::FailedPreconditionError(
          absl::StrCat(summary.runs[f], " is not among the runs summarized"));
    }
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
    pooled.fold.insert(pooled.fold.end(), fold->size(), summary.present[f]);
  }
  double loss = 0;
  for (float l : set->losses) loss += l;
  set->mean_loss = set->size() > 0 ? loss / set->size() : 0;
  pooled.evaluation = config;
  pooled.report = evaluation::Evaluate(*set, pooled.classes, pooled.positive, config);
  *pooled.report.mutable_intervals() = evaluation::PatientIntervalsOf(
      *set, pooled.positive, pooled.report, PolicyOf(pooled).bootstrap);
  pooled.predictions = std::move(set);
  return pooled;
}

void FitOutOfFoldRules(PooledOutOfFold* pooled) {
  pooled->calibration = evaluation::Calibrate(*pooled->predictions, pooled->classes,
                                              pooled->positive, PolicyOf(*pooled));
}

namespace {

// The indices of the cells of fold `f` (or, with `other`, of every other fold).
std::vector<int> CellsOfFold(const PooledOutOfFold& pooled, int f, bool other) {
  std::vector<int> out;
  for (int i = 0; i < static_cast<int>(pooled.fold.size()); ++i) {
    if ((pooled.fold[i] == f) != other) out.push_back(i);
  }
  return out;
}

}  // namespace

absl::StatusOr<NestedRulesCheck> CheckRulesNested(const PooledOutOfFold& pooled,
                                                  const evaluation::CalibrationPolicy& policy) {
  std::vector<int> folds = pooled.fold;
  std::sort(folds.begin(), folds.end());
  folds.erase(std::unique(folds.begin(), folds.end()), folds.end());
  if (folds.size() < 3) {
    return absl::FailedPreconditionError("a nested check needs at least 3 folds");
  }
  const evaluation::PredictionSet& all = *pooled.predictions;
  NestedRulesCheck check;
  check.folds = static_cast<int>(folds.size());
  evaluation::PredictionSet fitted_cells, half_cells;  // the outer folds' cells, decided both ways
  for (int f : folds) {
    const evaluation::PredictionSet inner = evaluation::SubsetOf(all, CellsOfFold(pooled, f, true));
    const evaluation::PredictionSet outer =
        evaluation::SubsetOf(all, CellsOfFold(pooled, f, false));
    const evaluation::Calibration c =
        evaluation::Calibrate(inner, pooled.classes, pooled.positive, policy);
    check.thresholds_fitted += c.threshold_fitted();
    const evaluation::PredictionSet decided =
        evaluation::ApplyCalibration(outer, c, pooled.positive);
    evaluation::PredictionSet half = decided;
    half.decision_threshold = 0.5;
    using Pair = std::pair<const evaluation::PredictionSet*, evaluation::PredictionSet*>;
    for (const Pair& pair : {Pair(&decided, &fitted_cells), Pair(&half, &half_cells)}) {
      const evaluation::PredictionSet& p = *pair.first;
      evaluation::PredictionSet* to = pair.second;
      for (int i = 0; i < p.size(); ++i) {
        // Each cell with its own decision: its probabilities shifted so that the pooled set's
        // common 0.5 decides as its fold's threshold did.
        const double shift = 0.5 - p.decision_threshold;
        const double q = std::clamp(p.Row(i)[pooled.positive] + shift, 0.0, 1.0);
        to->num_classes = 2;
        to->probabilities.push_back(pooled.positive == 0 ? q : 1 - q);
        to->probabilities.push_back(pooled.positive == 0 ? 1 - q : q);
        to->labels.push_back(p.labels[i]);
        to->losses.push_back(0);
        to->paths.push_back(p.paths[i]);
        to->groups.push_back(p.groups[i]);
      }
    }
    // The patients of the outer fold, diagnosed by the fitted rule and by the fixed one.
    std::vector<evaluation::ParasitemiaEstimate> fitted =
        evaluation::EstimateParasitemia(decided, pooled.positive, c.sensitivity(), c.specificity(),
                                        c.patient_threshold(), c.patient_min_cells());
    // The fixed rule as a run applies it: the estimated fraction corrected with the inner folds'
    // sensitivity and specificity at 0.5 (the fitted threshold's would mix the two rules).
    const evaluation::ClassificationReport at_half =
        evaluation::Evaluate(inner, pooled.classes, pooled.positive, pooled.evaluation);
    std::vector<evaluation::ParasitemiaEstimate> fixed = evaluation::EstimateParasitemia(
        half, pooled.positive, at_half.sensitivity(), at_half.specificity(),
        policy.fixed_patient_fraction, policy.fixed_patient_min_cells);
    for (size_t k = 0; k < fitted.size(); ++k) {
      ++check.patients;
      check.infected += fitted[k].infected;
      check.fitted_right += fitted[k].diagnosed == fitted[k].infected;
      check.fitted_caught += fitted[k].infected && fitted[k].diagnosed;
      check.fitted_cleared += !fitted[k].infected && !fitted[k].diagnosed;
      check.fixed_right += fixed[k].diagnosed == fixed[k].infected;
      check.fixed_caught += fixed[k].infected && fixed[k].diagnosed;
      check.fixed_cleared += !fixed[k].infected && !fixed[k].diagnosed;
    }
  }
  fitted_cells.decision_positive = half_cells.decision_positive = pooled.positive;
  fitted_cells.decision_threshold = half_cells.decision_threshold = 0.5;
  absl::StatusOr<evaluation::MetricIntervals> gain =
      evaluation::PairedDifference(fitted_cells, half_cells, pooled.positive, policy.bootstrap);
  if (!gain.ok()) return gain.status();
  check.threshold_gain = *gain;
  return check;
}

std::string NestedRulesText(const NestedRulesCheck& c) {
  const int healthy = c.patients - c.infected;
  auto rule = [&](int right, int caught, int cleared) {
    return absl::StrFormat(
        "%d of %d patients right (%s), sensitivity %d of %d, specificity %d of %d", right,
        c.patients, evaluation::IntervalText(evaluation::ClopperPearson(right, c.patients)), caught,
        c.infected, cleared, healthy);
  };
  const evaluation::Interval& g = c.threshold_gain.accuracy;
  return absl::StrFormat(
      "Rules checked where they were not fitted (each fold's rules fitted on the other %d folds' "
      "out-of-fold predictions):\n"
      "  decision threshold: %d of %d folds fitted one; accuracy %+.2f points over 0.5 (95 %% CI "
      "%+.2f to %+.2f, patients resampled)\n"
      "  diagnosis, fitted rule: %s\n"
      "  diagnosis, fixed rule:  %s\n",
      c.folds - 1, c.thresholds_fitted, c.folds, 100 * g.estimate, 100 * g.low, 100 * g.high,
      rule(c.fitted_right, c.fitted_caught, c.fitted_cleared),
      rule(c.fixed_right, c.fixed_caught, c.fixed_cleared));
}

void AddOutOfFold(std::vector<KFoldSummary>* summaries, const std::vector<LoadedRun>& runs) {
  for (KFoldSummary& s : *summaries) {
    absl::StatusOr<PooledOutOfFold> pooled = PoolOutOfFold(s, runs);
    if (pooled.ok()) {
      s.pooled = *std::move(pooled);
      s.pooled_note.clear();
    } else {
      s.pooled.reset();
      s.pooled_note = std::string(pooled.status().message());
    }
  }
}

std::string NewGroupText(const PooledOutOfFold& pooled, int group) {
  const evaluation::CalibrationPolicy policy = PolicyOf(pooled);
  const evaluation::MetricIntervals m =
      evaluation::PatientBootstrap(*pooled.predictions, pooled.positive)
          .NewGroupIntervals(group, policy.bootstrap);
  auto text = [](const evaluation::Interval& i, bool percent) {
    const double k = percent ? 100 : 1;
    return absl::StrFormat(percent ? "%.1f %% (%.1f-%.1f)" : "%.3f (%.3f-%.3f)", k * i.estimate,
                           k * i.low, k * i.high);
  };
  return absl::StrFormat(
      "On a new group of %d patients like these (95 %% prediction interval): accuracy %s, ROC "
      "AUC %s, sensitivity %s, specificity %s\n",
      group, text(m.accuracy, true), text(m.roc_auc, false), text(m.sensitivity, true),
      text(m.specificity, true));
}

std::string OutOfFoldRulesText(const PooledOutOfFold& pooled) {
  const evaluation::Calibration& c = pooled.calibration;
  std::string out = absl::StrFormat(
      "Rules fitted on every patient's out-of-fold predictions (calibration.pbtxt): temperature "
      "%.3f\n  threshold: %s\n  diagnosis: %s\n",
      c.temperature(), c.threshold_note(), c.patient_rule_note());
  absl::StatusOr<NestedRulesCheck> nested = CheckRulesNested(pooled, PolicyOf(pooled));
  absl::StrAppend(&out, nested.ok()
                            ? NestedRulesText(*nested)
                            : absl::StrCat("No nested check: ", nested.status().message(), "\n"));
  return out;
}

absl::Status WriteOutOfFold(const std::string& folder, const PooledOutOfFold& pooled) {
  if (absl::Status s = base::MakeDirs(folder); !s.ok()) return s;
  const evaluation::PredictionSet& p = *pooled.predictions;
  if (absl::Status s = base::WriteFileAtomically(base::JoinPath(folder, "predictions.csv"),
                                                 evaluation::PredictionsCsv(p, pooled.classes));
      !s.ok()) {
    return s;
  }
  if (absl::Status s = base::WriteFileAtomically(
          base::JoinPath(folder, "patients.csv"),
          evaluation::PatientCsv(evaluation::PerPatient(
              p, pooled.positive, pooled.evaluation.patient_positive_fraction(),
              pooled.evaluation.patient_min_cells())));
      !s.ok()) {
    return s;
  }
  if (pooled.calibration.has_temperature()) {
    if (absl::Status s = base::WriteFileAtomically(base::JoinPath(folder, "calibration.pbtxt"),
                                                   ToText(pooled.calibration));
        !s.ok()) {
      return s;
    }
  }
  return base::WriteFileAtomically(base::JoinPath(folder, "metrics.pbtxt"), ToText(pooled.report));
}

std::string OutOfFoldFolder(const std::string& experiment_folder, const std::string& experiment) {
  std::string folder = experiment_folder;
  while (folder.size() > 1 && folder.back() == '/') folder.pop_back();
  return base::JoinPath(std::filesystem::path(folder).lexically_normal().parent_path().string(),
                        absl::StrCat("out_of_fold/", experiment));
}

KFoldModel KFoldModelOf(const KFoldSummary& summary, const std::string& folder) {
  KFoldModel m;
  m.set_experiment(summary.experiment);
  m.set_folds(summary.folds);
  const std::filesystem::path from = std::filesystem::absolute(folder).lexically_normal();
  for (const std::string& run : summary.runs) {
    m.add_runs(std::filesystem::absolute(run).lexically_normal().lexically_relative(from).string());
  }
  m.set_data_fingerprint(summary.fingerprint);
  if (summary.pooled) {
    m.set_patients(summary.pooled->report.intervals().units());
    m.set_cells(summary.pooled->report.examples());
    *m.mutable_estimate() = summary.pooled->report.intervals();
  }
  m.set_created(IsoTime(std::time(nullptr)));
  return m;
}

absl::StatusOr<std::string> KeepOutOfFold(KFoldSummary* summary,
                                          const std::string& experiment_folder, int new_patients) {
  if (!summary->pooled) {
    return absl::FailedPreconditionError(
        absl::StrCat(summary->experiment, ": no out-of-fold predictions pooled"));
  }
  PooledOutOfFold* pooled = &*summary->pooled;
  FitOutOfFoldRules(pooled);
  const std::string out = OutOfFoldFolder(experiment_folder, summary->experiment);
  if (absl::Status w = WriteOutOfFold(out, *pooled); !w.ok()) return w;
  if (absl::Status w = base::WriteFileAtomically(base::JoinPath(out, "model.pbtxt"),
                                                 ToText(KFoldModelOf(*summary, out)));
      !w.ok()) {
    return w;
  }
  return absl::StrCat(
      NewGroupText(*pooled, new_patients > 0 ? new_patients : pooled->report.intervals().units()),
      OutOfFoldRulesText(*pooled), "Pooled out-of-fold predictions, their report and rules: ", out,
      "\n",
      absl::StrFormat(
          "The model for new patients (model.pbtxt): the %d fold models' probabilities averaged, "
          "decided by these rules; use the folder as a run:\n"
          "  evaluate --run %s --data DIR    classify --run %s IMAGE...\n",
          summary->runs.size(), out, out));
}

bool IsKFoldModel(const std::string& folder) {
  return base::PathExists(base::JoinPath(folder, "model.pbtxt"));
}

absl::StatusOr<KeptKFoldModel> ReadKFoldModel(const std::string& folder) {
  KeptKFoldModel kept;
  kept.folder = folder;
  const std::string model_path = base::JoinPath(folder, "model.pbtxt");
  absl::StatusOr<std::string> text = base::ReadFile(model_path);
  if (!text.ok()) return text.status();
  if (absl::Status s = base::ParseTextProto(*text, model_path, &kept.model); !s.ok()) {
    return absl::DataLossError(
        absl::StrCat(model_path, " is not a readable k-fold model: ", s.message()));
  }
  if (kept.model.runs().empty()) {
    return absl::DataLossError(absl::StrCat(model_path, ": runs: none (no fold models)"));
  }
  for (int f = 0; f < kept.model.runs_size(); ++f) {
    const std::string dir =
        (std::filesystem::path(folder) / kept.model.runs(f)).lexically_normal().string();
    if (!base::PathExists(base::JoinPath(dir, "run_info.pbtxt"))) {
      return absl::NotFoundError(absl::StrCat(model_path, ": runs[", f, "]: ", dir,
                                              " is not a run directory (no run_info.pbtxt)"));
    }
    kept.run_dirs.push_back(dir);
  }
  const std::string calibration_path = base::JoinPath(folder, "calibration.pbtxt");
  if (!base::PathExists(calibration_path)) {
    return absl::NotFoundError(absl::StrCat(
        calibration_path, " is missing: the k-fold model has no rules (run tools/out_of_fold)"));
  }
  absl::StatusOr<std::string> rules = base::ReadFile(calibration_path);
  if (!rules.ok()) return rules.status();
  if (absl::Status s = base::ParseTextProto(*rules, calibration_path, &kept.calibration); !s.ok()) {
    return absl::DataLossError(
        absl::StrCat(calibration_path, " is not a readable calibration: ", s.message()));
  }
  return kept;
}

}  // namespace malaria::experiments
