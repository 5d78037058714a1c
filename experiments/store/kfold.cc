#include "experiments/store/kfold.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "base/files.h"
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

// A metric's cell: "-" when missing, four decimals for rates, whole numbers for seconds.
std::string Cell(double v) {
  return !std::isfinite(v)  ? std::string("-")
         : std::abs(v) < 10 ? absl::StrFormat("%.4f", v)
                            : absl::StrFormat("%.0f", v);
}

double SecondsTo(const RunInfo& info, double threshold) {
  for (const AccuracyReached& r : info.time_to_accuracy()) {
    if (std::abs(r.threshold() - threshold) < 1e-9) return r.seconds();
  }
  return std::nan("");
}

// b - a on the cells both pools hold, matched by path, resampled by patient together; nullopt
// when they are not the same cells.
std::optional<evaluation::MetricIntervals> PooledDifference(const PooledOutOfFold& a,
                                                            const PooledOutOfFold& b) {
  if (a.classes != b.classes || a.positive != b.positive) return std::nullopt;
  auto sorted = [](const evaluation::PredictionSet& p) {
    std::vector<int> order(p.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int x, int y) { return p.paths[x] < p.paths[y]; });
    return evaluation::SubsetOf(p, order);
  };
  const evaluation::PredictionSet sa = sorted(*a.predictions), sb = sorted(*b.predictions);
  evaluation::BootstrapOptions options;
  options.replicates = a.report.intervals().replicates() > 0 ? a.report.intervals().replicates()
                                                             : options.replicates;
  options.seed = a.report.intervals().seed();
  absl::StatusOr<evaluation::MetricIntervals> d =
      evaluation::PairedDifference(sb, sa, a.positive, options);
  if (!d.ok()) return std::nullopt;
  return *d;
}

}  // namespace

std::string PooledLine(const PooledOutOfFold& pooled) {
  return absl::StrFormat(
      "Pooled out-of-fold (each of %d cells predicted by the fold model that never saw its "
      "patient): %s",
      pooled.predictions->size(), evaluation::PatientIntervalsText(pooled.report.intervals()));
}

double TrainingSeconds(const RunInfo& info) {
  double seconds = 0;
  int epochs = 0;
  for (const StageSummary& s : info.stage()) {
    seconds += s.mean_epoch_seconds() * s.epochs_completed();
    epochs += s.epochs_completed();
  }
  return epochs > 0 ? seconds : std::nan("");
}

double MeanEpochSeconds(const RunInfo& info) {
  int epochs = 0;
  for (const StageSummary& s : info.stage()) epochs += s.epochs_completed();
  return epochs > 0 ? TrainingSeconds(info) / epochs : std::nan("");
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
    metric("train_minutes", [](const LoadedRun& r) { return TrainingSeconds(r.info) / 60; });
    metric("train_tflop", [](const LoadedRun& r) {
      return r.info.has_training_tflop() ? r.info.training_tflop() : std::nan("");
    });
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
      row.push_back(Cell(m.values[i]));
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
  if (s.pooled) {
    absl::StrAppend(&out, PooledLine(*s.pooled), "\nPer fold (the mean +- sd of the folds):\n");
  } else if (!s.pooled_note.empty()) {
    absl::StrAppend(&out, "No pooled out-of-fold estimate: ", s.pooled_note, "\n");
  }
  out += base::FormatTextTable(KFoldTable(s), /*rule=*/false);
  if (!s.missing.empty()) {
    std::vector<std::string> m;
    for (int f : s.missing) m.push_back(absl::StrCat(f));
    absl::StrAppend(&out, "missing: fold(s) ", absl::StrJoin(m, ", "),
                    " (no COMPLETED run); the means are over the others\n");
  }
  return out;
}

absl::StatusOr<PairedKFolds> PairKFolds(const KFoldSummary& a, const KFoldSummary& b) {
  if (a.folds != b.folds) {
    return absl::FailedPreconditionError(
        absl::StrFormat("%s has %d folds, %s %d: not the same folds", a.experiment, a.folds,
                        b.experiment, b.folds));
  }
  if (a.fingerprint != b.fingerprint) {
    return absl::FailedPreconditionError(
        absl::StrFormat("%s and %s were trained on different data (fingerprints %s and %s)",
                        a.experiment, b.experiment, a.fingerprint, b.fingerprint));
  }
  PairedKFolds p;
  p.a = a.experiment;
  p.b = b.experiment;
  std::vector<std::pair<size_t, size_t>> index;  // (in a, in b) per paired fold
  for (size_t i = 0; i < a.present.size(); ++i) {
    const auto j = std::find(b.present.begin(), b.present.end(), a.present[i]);
    if (j == b.present.end()) continue;
    const size_t jb = j - b.present.begin();
    const absl::StatusOr<std::string> cells_a = base::ReadFile(a.runs[i] + "/split/valid.txt");
    const absl::StatusOr<std::string> cells_b = base::ReadFile(b.runs[jb] + "/split/valid.txt");
    if (!cells_a.ok() || !cells_b.ok()) {
      p.unpaired.push_back(
          absl::StrCat("fold ", a.present[i], ": ",
                       (!cells_a.ok() ? cells_a.status() : cells_b.status()).message()));
    } else if (*cells_a != *cells_b) {
      p.unpaired.push_back(absl::StrCat("fold ", a.present[i],
                                        ": other validation cells (split/valid.txt differs)"));
    } else {
      p.folds.push_back(a.present[i]);
      index.emplace_back(i, jb);
    }
  }
  for (const FoldedMetric& ma : a.metrics) {
    const auto mb = std::find_if(b.metrics.begin(), b.metrics.end(),
                                 [&](const FoldedMetric& m) { return m.name == ma.name; });
    if (mb == b.metrics.end()) continue;
    PairedKFolds::Metric m;
    m.name = ma.name;
    std::vector<double> va, vb, differences;
    for (const auto& [i, j] : index) {
      // A fold where either side lacks the metric counts for neither mean, so that the two means
      // and their difference are over the same folds.
      if (!std::isfinite(ma.values[i]) || !std::isfinite(mb->values[j])) continue;
      va.push_back(ma.values[i]);
      vb.push_back(mb->values[j]);
      differences.push_back(mb->values[j] - ma.values[i]);
      m.higher += differences.back() > 0;
      m.lower += differences.back() < 0;
    }
    m.mean_a = Folded("a", va).mean;
    m.mean_b = Folded("b", vb).mean;
    m.difference = Folded(ma.name, std::move(differences));
    p.metrics.push_back(std::move(m));
  }
  if (a.pooled && b.pooled) p.pooled_difference = PooledDifference(*a.pooled, *b.pooled);
  return p;
}

std::vector<PairedKFolds> PairAll(const std::vector<KFoldSummary>& summaries,
                                  const std::vector<LoadedRun>& runs) {
  auto first = [&](const KFoldSummary& s) {
    for (size_t i = 0; i < runs.size(); ++i) {
      if (runs[i].info.experiment() == s.experiment) return i;
    }
    return runs.size();
  };
  std::vector<const KFoldSummary*> ordered;
  for (const KFoldSummary& s : summaries) ordered.push_back(&s);
  std::stable_sort(
      ordered.begin(), ordered.end(),
      [&](const KFoldSummary* x, const KFoldSummary* y) { return first(*x) < first(*y); });
  std::vector<PairedKFolds> out;
  for (size_t i = 0; i < ordered.size(); ++i) {
    for (size_t j = i + 1; j < ordered.size(); ++j) {
      absl::StatusOr<PairedKFolds> p = PairKFolds(*ordered[i], *ordered[j]);
      if (p.ok()) out.push_back(*std::move(p));  // other folds or data: nothing to pair
    }
  }
  return out;
}

double TCritical95(int df) {
  static constexpr double kTable[] = {12.706, 4.303, 3.182, 2.776, 2.571,
                                      2.447,  2.365, 2.306, 2.262, 2.228};
  if (df < 1) return std::nan("");
  if (df <= 10) return kTable[df - 1];
  const double z = 1.959964;  // the normal's 97.5 % quantile
  const double n = df;
  return z + (z * z * z + z) / (4 * n) +
         (5 * std::pow(z, 5) + 16 * z * z * z + 3 * z) / (96 * n * n) +
         (3 * std::pow(z, 7) + 19 * std::pow(z, 5) + 17 * z * z * z - 15 * z) / (384 * n * n * n);
}

base::TextTable PairedTable(const PairedKFolds& p) {
  std::vector<std::vector<std::string>> rows;
  for (const PairedKFolds::Metric& m : p.metrics) {
    const FoldedMetric& d = m.difference;
    std::string diff = "-", t = "-", beyond = "-";
    if (d.counted > 0) {
      diff = absl::StrCat(d.mean >= 0 ? "+" : "", Cell(d.mean));
      if (d.counted > 1) {
        absl::StrAppend(&diff, " +- ", Cell(d.sd));
        const int df = d.counted - 1;
        // A spread below rounding noise (0.91 - 0.90 and 0.21 - 0.20 differ in the 17th digit) is
        // no spread.
        if (d.sd > 1e-9 * std::abs(d.mean)) {
          const double value = d.mean / (d.sd / std::sqrt(static_cast<double>(d.counted)));
          t = absl::StrFormat("%.2f (%d)", value, df);
          beyond = std::abs(value) > TCritical95(df) ? "yes" : "no";
        } else if (d.mean != 0) {  // the same difference on every fold: no spread at all
          t = absl::StrFormat("%sinf (%d)", d.mean < 0 ? "-" : "", df);
          beyond = "yes";
        } else {  // identical on every fold
          beyond = "no";
        }
      }
    }
    rows.push_back({m.name, Cell(m.mean_a), Cell(m.mean_b), diff, t, beyond,
                    absl::StrCat(m.higher, " / ", m.lower)});
  }
  return {absl::StrCat(p.b, " against ", p.a, ", paired by fold"),
          {"metric", p.a, p.b, "difference (mean +- sd)", "t (df)", "beyond 5 %",
           "folds higher / lower"},
          std::move(rows)};
}

std::string PairedText(const PairedKFolds& p) {
  std::vector<std::string> folds;
  for (int f : p.folds) folds.push_back(absl::StrCat(f));
  std::string out =
      p.folds.empty()
          ? absl::StrFormat("%s against %s: no fold with the same validation cells in both\n", p.b,
                            p.a)
          : absl::StrFormat(
                "%s against %s, paired over fold(s) %s (the same validation cells in each; "
                "difference: %s minus %s)\n",
                p.b, p.a, absl::StrJoin(folds, ", "), p.b, p.a);
  if (!p.folds.empty()) out += base::FormatTextTable(PairedTable(p), /*rule=*/false);
  for (const std::string& u : p.unpaired) absl::StrAppend(&out, "not paired: ", u, "\n");
  if (p.pooled_difference) {
    const evaluation::MetricIntervals& d = *p.pooled_difference;
    absl::StrAppendFormat(&out,
                          "On the pooled out-of-fold predictions, %s minus %s, resampling the %d "
                          "patients together: %s\n",
                          p.b, p.a, d.units, evaluation::DifferenceText(d));
  }
  return out;
}

}  // namespace malaria::experiments
