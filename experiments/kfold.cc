#include "experiments/kfold.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "base/text_table.h"

namespace malaria::experiments {

FoldedMetric Folded(std::string name, std::vector<double> values) {
  FoldedMetric m;
  m.name = std::move(name);
  m.values = std::move(values);
  double sum = 0;
  for (double v : m.values) {
    if (!std::isfinite(v)) continue;
    sum += v;
    ++m.counted;
  }
  if (m.counted == 0) return m;
  m.mean = sum / m.counted;
  double squares = 0;
  for (double v : m.values) {
    if (std::isfinite(v)) squares += (v - m.mean) * (v - m.mean);
  }
  m.sd = m.counted > 1 ? std::sqrt(squares / (m.counted - 1)) : 0;
  return m;
}

namespace {

double SecondsTo(const RunInfo& info, double threshold) {
  for (const AccuracyReached& r : info.time_to_accuracy()) {
    if (std::abs(r.threshold() - threshold) < 1e-9) return r.seconds();
  }
  return std::nan("");
}

}  // namespace

double MeanEpochSeconds(const RunInfo& info) {
  double seconds = 0;
  int epochs = 0;
  for (const StageSummary& s : info.stage()) {
    seconds += s.mean_epoch_seconds() * s.epochs_completed();
    epochs += s.epochs_completed();
  }
  return epochs > 0 ? seconds / epochs : std::nan("");
}

std::vector<KFoldSummary> SummarizeKFolds(const std::vector<LoadedRun>& runs) {
  // (experiment, k, fingerprint) -> fold -> the latest completed run.
  std::map<std::tuple<std::string, int, std::string>, std::map<int, const LoadedRun*>> groups;
  for (const LoadedRun& run : runs) {
    if (!run.config.data().split().has_patient_kfold() || run.info.status() != RunInfo::COMPLETED ||
        !run.has_final_report) {
      continue;
    }
    const auto& split = run.config.data().split().patient_kfold();
    auto& folds = groups[{run.info.experiment(), split.folds(), run.info.dataset().fingerprint()}];
    const LoadedRun*& chosen = folds[split.fold()];
    if (chosen == nullptr || chosen->info.run_id() < run.info.run_id()) chosen = &run;
  }
  std::vector<KFoldSummary> out;
  for (const auto& [key, folds] : groups) {
    KFoldSummary s;
    std::tie(s.experiment, s.folds, s.fingerprint) = key;
    std::vector<const LoadedRun*> present;
    for (int f = 0; f < s.folds; ++f) {
      auto it = folds.find(f);
      if (it == folds.end()) {
        s.missing.push_back(f);
        continue;
      }
      s.present.push_back(f);
      s.runs.push_back(it->second->dir.path());
      present.push_back(it->second);
    }
    auto metric = [&](const std::string& name, auto value) {
      std::vector<double> values;
      for (const LoadedRun* run : present) values.push_back(value(*run));
      s.metrics.push_back(Folded(name, std::move(values)));
    };
    metric("accuracy", [](const LoadedRun& r) { return r.final_report.accuracy(); });
    metric("roc_auc", [](const LoadedRun& r) { return r.final_report.roc_auc(); });
    metric("sensitivity", [](const LoadedRun& r) { return r.final_report.sensitivity(); });
    metric("specificity", [](const LoadedRun& r) { return r.final_report.specificity(); });
    metric("ece", [](const LoadedRun& r) { return r.final_report.expected_calibration_error(); });
    metric("patient_accuracy", [](const LoadedRun& r) {
      return r.final_report.has_patients() ? r.final_report.patients().diagnosis_accuracy()
                                           : std::nan("");
    });
    // With the calibration fitted on each fold's own validation patients (in-sample): accuracy,
    // parasitemia error per patient and the fitted patient diagnosis rule.
    auto calibrated = [](double (*get)(const evaluation::ClassificationReport&)) {
      return [get](const LoadedRun& r) {
        return r.has_calibrated_report ? get(r.calibrated_report) : std::nan("");
      };
    };
    metric("cal_accuracy",
           calibrated([](const evaluation::ClassificationReport& c) { return c.accuracy(); }));
    metric("parasitemia_mae", calibrated([](const evaluation::ClassificationReport& c) {
             return c.has_parasitemia() ? c.parasitemia().mean_absolute_error() : std::nan("");
           }));
    metric("fitted_patient_accuracy", calibrated([](const evaluation::ClassificationReport& c) {
             return c.has_parasitemia() ? c.parasitemia().diagnosis_accuracy() : std::nan("");
           }));
    metric("s_per_epoch", [](const LoadedRun& r) { return MeanEpochSeconds(r.info); });
    for (double t :
         present.empty()
             ? std::vector<double>()
             : std::vector<double>(present[0]->config.evaluation().accuracy_thresholds().begin(),
                                   present[0]->config.evaluation().accuracy_thresholds().end())) {
      metric(absl::StrFormat("s_to_%.3g", t),
             [t](const LoadedRun& r) { return SecondsTo(r.info, t); });
    }
    out.push_back(std::move(s));
  }
  return out;
}

base::TextTable KFoldTable(const KFoldSummary& s) {
  std::vector<std::string> header = {"fold"};
  for (const FoldedMetric& m : s.metrics) header.push_back(m.name);
  std::vector<std::vector<std::string>> rows;
  for (size_t i = 0; i < s.present.size(); ++i) {
    std::vector<std::string> row = {absl::StrCat(s.present[i])};
    for (const FoldedMetric& m : s.metrics) {
      const double v = m.values[i];
      row.push_back(!std::isfinite(v) ? "-"
                    : v < 10          ? absl::StrFormat("%.4f", v)
                                      : absl::StrFormat("%.0f", v));
    }
    rows.push_back(row);
  }
  std::vector<std::string> mean = {"mean +- sd"};
  for (const FoldedMetric& m : s.metrics) {
    if (m.counted == 0) {
      mean.push_back("-");
    } else if (m.counted == 1) {  // one value has no spread
      mean.push_back(m.mean < 10 ? absl::StrFormat("%.4f", m.mean)
                                 : absl::StrFormat("%.0f", m.mean));
    } else if (m.mean < 10) {
      mean.push_back(absl::StrFormat("%.4f +- %.4f", m.mean, m.sd));
    } else {
      mean.push_back(absl::StrFormat("%.0f +- %.0f", m.mean, m.sd));
    }
    if (m.counted > 0 && m.counted < static_cast<int>(m.values.size())) {
      mean.back() += m.counted == 1 ? " (1 fold)" : absl::StrFormat(" (%d folds)", m.counted);
    }
  }
  rows.push_back(mean);
  return {absl::StrCat(s.experiment, ": patient-level ", s.folds, "-fold cross-validation"),
          std::move(header), std::move(rows)};
}

std::string KFoldText(const KFoldSummary& s) {
  std::string out = absl::StrFormat("%s: patient-level %d-fold cross-validation, %d of %d folds\n",
                                    s.experiment, s.folds, s.present.size(), s.folds);
  out += base::FormatTextTable(KFoldTable(s), /*rule=*/false);
  if (!s.missing.empty()) {
    std::vector<std::string> m;
    for (int f : s.missing) m.push_back(absl::StrCat(f));
    absl::StrAppend(&out, "missing: fold(s) ", absl::StrJoin(m, ", "),
                    " (no COMPLETED run); the means are over the others\n");
  }
  return out;
}

}  // namespace malaria::experiments
