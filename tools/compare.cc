#include "tools/compare.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "base/files.h"
#include "experiments/store/out_of_fold.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/reflection.h"
#include "google/protobuf/text_format.h"

namespace malaria::tools {
namespace {

namespace pb = google::protobuf;
using experiments::LoadedRun;
using experiments::RunInfo;

void Flatten(const pb::Message& m, const std::string& prefix,
             std::map<std::string, std::string>* out) {
  const pb::Reflection* r = m.GetReflection();
  std::vector<const pb::FieldDescriptor*> fields;
  r->ListFields(m, &fields);
  for (const pb::FieldDescriptor* f : fields) {
    const std::string name = prefix.empty() ? f->name() : absl::StrCat(prefix, ".", f->name());
    const int count = f->is_repeated() ? r->FieldSize(m, f) : 1;
    for (int i = 0; i < count; ++i) {
      const std::string path = f->is_repeated() ? absl::StrCat(name, "[", i, "]") : name;
      if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
        Flatten(f->is_repeated() ? r->GetRepeatedMessage(m, f, i) : r->GetMessage(m, f), path, out);
      } else {
        std::string value;
        pb::TextFormat::PrintFieldValueToString(m, f, f->is_repeated() ? i : -1, &value);
        (*out)[path] = value;
      }
    }
  }
}

std::string Minutes(double seconds) { return absl::StrFormat("%.1f min", seconds / 60); }

}  // namespace

std::string ShortCommit(const RunInfo& info) {
  std::string c = info.git_commit().substr(0, 10);
  if (info.git_dirty()) absl::StrAppend(&c, " (dirty)");
  return c.empty() ? "unknown" : c;
}

std::string SplitName(const LoadedRun& run) {
  const auto& split = run.config.data().split();
  if (split.has_patient()) return absl::StrFormat("patient %.2f", split.patient().valid_pct());
  if (split.has_patient_kfold()) {
    return absl::StrFormat("patient fold %d/%d", split.patient_kfold().fold(),
                           split.patient_kfold().folds());
  }
  return absl::StrFormat("random %.2f", split.has_random() ? split.random().valid_pct() : 0.2f);
}

ComparisonTables MakeTables(const std::vector<LoadedRun>& runs) {
  ComparisonTables t;
  t.runs = {"Runs", {"run", "model", "status", "dataset", "split", "commit"}, {}};
  t.accuracy = {"Best and final validation accuracy per model and stage",
                {"run", "model", "stage", "best accuracy", "best epoch", "final accuracy"},
                {}};
  t.time = {"Average time per epoch per model and stage",
            {"run", "model", "stage", "epochs", "seconds per epoch"},
            {}};
  t.final = {
      "Final model on its validation set (calibrated*: with the calibration fitted on this "
      "same set, in-sample)",
      {"run", "accuracy", "FN", "FP", "ROC AUC", "ECE", "patients",
       "patient diagnosis accuracy (fixed fraction)", "calibrated* accuracy",
       "calibrated* parasitemia MAE", "calibrated* patient diagnosis (fitted fraction)"},
      {}};
  t.config = {"Config fields that differ", {"config field"}, {}};
  t.reached = {
      "Wall time and training compute to reach each validation accuracy (first epoch at or above)",
      {"run"},
      {}};
  std::vector<std::map<std::string, std::string>> configs;
  for (const LoadedRun& run : runs) {
    const std::string label = RunLabel(run);
    const std::string model = run.config.model().architecture();
    t.runs.rows.push_back(
        {label, model, RunInfo::Status_Name(run.info.status()),
         absl::StrCat(experiments::DatasetInfo::Kind_Name(run.info.dataset().kind()), " ",
                      run.info.dataset().fingerprint().substr(0, 8)),
         SplitName(run), ShortCommit(run.info)});
    for (const auto& s : run.info.stage()) {
      t.accuracy.rows.push_back(
          {label, model, s.name(),
           s.has_best_accuracy() ? absl::StrFormat("%.4f", s.best_accuracy()) : "-",
           s.has_best_epoch() ? absl::StrCat(s.best_epoch()) : "-",
           s.has_final_accuracy() ? absl::StrFormat("%.4f", s.final_accuracy()) : "-"});
      t.time.rows.push_back(
          {label, model, s.name(), absl::StrCat(s.epochs_completed()),
           s.has_mean_epoch_seconds() ? absl::StrFormat("%.1f", s.mean_epoch_seconds()) : "-"});
    }
    if (run.has_final_report) {
      const auto& r = run.final_report;
      t.final.rows.push_back(
          {label, absl::StrFormat("%.4f", r.accuracy()), absl::StrCat(r.false_negatives()),
           absl::StrCat(r.false_positives()), absl::StrFormat("%.4f", r.roc_auc()),
           absl::StrFormat("%.4f", r.expected_calibration_error()),
           r.has_patients() ? absl::StrCat(r.patients().patients()) : "-",
           r.has_patients() ? absl::StrFormat("%.4f", r.patients().diagnosis_accuracy()) : "-"});
    } else {
      t.final.rows.push_back({label, "-", "-", "-", "-", "-", "-", "-"});
    }
    // With the calibration fitted on the same validation set (in-sample).
    const auto& c = run.calibrated_report;
    const bool para = run.has_calibrated_report && c.has_parasitemia();
    t.final.rows.back().push_back(run.has_calibrated_report ? absl::StrFormat("%.4f", c.accuracy())
                                                            : "-");
    t.final.rows.back().push_back(
        para ? absl::StrFormat("%.4f", c.parasitemia().mean_absolute_error()) : "-");
    t.final.rows.back().push_back(para ? absl::StrFormat("%.4f (>= %.3f)",
                                                         c.parasitemia().diagnosis_accuracy(),
                                                         c.parasitemia().diagnosis_threshold())
                                       : "-");
    configs.push_back(FlattenFields(run.config));
    t.config.header.push_back(label);
  }
  // Time to accuracy: the thresholds any run records, each run's wall time to reach them.
  std::vector<double> thresholds;
  for (const LoadedRun& run : runs) {
    for (const auto& r : run.info.time_to_accuracy()) thresholds.push_back(r.threshold());
    for (double th : run.config.evaluation().accuracy_thresholds()) thresholds.push_back(th);
  }
  std::sort(thresholds.begin(), thresholds.end());
  thresholds.erase(std::unique(thresholds.begin(), thresholds.end()), thresholds.end());
  for (double th : thresholds) t.reached.header.push_back(absl::StrFormat("%.3g", th));
  for (const LoadedRun& run : runs) {
    std::vector<std::string> row = {RunLabel(run)};
    for (double th : thresholds) {
      std::string cell = "-";
      for (const auto& r : run.info.time_to_accuracy()) {
        if (std::abs(r.threshold() - th) < 1e-9) {
          cell = r.has_training_tflop()
                     ? absl::StrFormat("%s, %.1f TFLOP (%s %d)", Minutes(r.seconds()),
                                       r.training_tflop(), r.stage(), r.epoch())
                     : absl::StrFormat("%s (%s %d)", Minutes(r.seconds()), r.stage(), r.epoch());
        }
      }
      row.push_back(cell);
    }
    t.reached.rows.push_back(row);
  }
  for (const std::string& field : DifferingFields(configs)) {
    std::vector<std::string> row = {field};
    for (const auto& config : configs) {
      auto it = config.find(field);
      row.push_back(it == config.end() ? "(unset)" : it->second);
    }
    t.config.rows.push_back(row);
  }
  return t;
}

const std::vector<experiments::KFoldSummary>& KFolds(const Comparison& c) {
  if (!c.kfolds) {
    c.kfolds = experiments::SummarizeKFolds(c.runs);
    experiments::AddOutOfFold(&*c.kfolds, c.runs);
  }
  return *c.kfolds;
}

const std::vector<experiments::PairedKFolds>& Pairs(const Comparison& c) {
  if (!c.pairs) c.pairs = experiments::PairAll(KFolds(c), c.runs);
  return *c.pairs;
}

std::string RunLabel(const LoadedRun& run) {
  return absl::StrCat(run.info.experiment(), "/", run.info.run_id());
}

absl::StatusOr<Comparison> CollectRuns(const std::vector<std::string>& paths) {
  Comparison c;
  std::set<std::string> seen;
  for (const std::string& path : paths) {
    if (!base::PathExists(path)) {
      c.skipped.push_back(absl::StrCat(path, ": does not exist"));
      continue;
    }
    const std::vector<std::string> found = experiments::FindRuns(path);
    if (found.empty()) {
      c.skipped.push_back(
          absl::StrCat(path,
                       ": no run directory here (a run holds run_info.pbtxt; give runs, experiment "
                       "folders or a tracker root)"));
      continue;
    }
    for (const std::string& dir : found) {
      if (!seen.insert(dir).second) continue;
      absl::StatusOr<LoadedRun> run = experiments::LoadRun(dir);
      if (run.ok()) {
        c.runs.push_back(*std::move(run));
      } else {
        c.skipped.push_back(std::string(run.status().message()));
      }
    }
  }
  if (c.runs.empty()) {
    return absl::NotFoundError(absl::StrCat("no readable runs at ", absl::StrJoin(paths, ", "),
                                            ":\n  ", absl::StrJoin(c.skipped, "\n  ")));
  }
  return c;
}

std::map<std::string, std::string> FlattenFields(const pb::Message& message) {
  std::map<std::string, std::string> out;
  Flatten(message, "", &out);
  return out;
}

std::vector<std::string> DifferingFields(
    const std::vector<std::map<std::string, std::string>>& configs) {
  std::set<std::string> keys;
  for (const auto& c : configs) {
    for (const auto& [k, v] : c) keys.insert(k);
  }
  std::vector<std::string> out;
  for (const std::string& k : keys) {
    std::set<std::string> values;
    bool missing = false;
    for (const auto& c : configs) {
      auto it = c.find(k);
      if (it == c.end()) {
        missing = true;
      } else {
        values.insert(it->second);
      }
    }
    if (missing || values.size() > 1) out.push_back(k);
  }
  return out;
}

std::string TextReport(const Comparison& c) {
  const ComparisonTables t = MakeTables(c.runs);
  auto section = [](const base::TextTable& table) {
    return absl::StrCat("\n", table.title, "\n", base::FormatTextTable(table, /*rule=*/true));
  };
  std::string out =
      absl::StrCat(c.runs.size(), " run(s)\n\n", base::FormatTextTable(t.runs, /*rule=*/true));
  absl::StrAppend(&out, section(t.accuracy), section(t.time), section(t.final));
  if (t.reached.header.size() > 1) absl::StrAppend(&out, section(t.reached));
  const std::vector<experiments::KFoldSummary>& kfolds = KFolds(c);
  for (const experiments::KFoldSummary& k : kfolds) {
    absl::StrAppend(&out, "\n", experiments::KFoldText(k));
  }
  for (const experiments::PairedKFolds& p : Pairs(c)) {
    absl::StrAppend(&out, "\n", experiments::PairedText(p));
  }
  if (t.config.rows.empty()) {
    absl::StrAppend(&out, "\nThe configs are identical.\n");
  } else {
    absl::StrAppend(&out, section(t.config));
  }
  for (const std::string& s : c.skipped) absl::StrAppend(&out, "\nskipped: ", s, "\n");
  return out;
}

}  // namespace malaria::tools
