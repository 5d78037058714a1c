#include "evaluation/intervals.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace malaria::evaluation {
namespace {

double Ratio(double a, double b) { return b > 0 ? a / b : std::nan(""); }

// The continued fraction of the incomplete beta function (Lentz's method).
double BetaContinuedFraction(double a, double b, double x) {
  constexpr double kTiny = 1e-300, kEps = 1e-15;
  double c = 1, d = 1 - (a + b) * x / (a + 1);
  if (std::abs(d) < kTiny) d = kTiny;
  d = 1 / d;
  double h = d;
  for (int m = 1; m <= 1000; ++m) {
    const double m2 = 2.0 * m;
    double aa = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (std::abs(d) < kTiny) d = kTiny;
    c = 1 + aa / c;
    if (std::abs(c) < kTiny) c = kTiny;
    d = 1 / d;
    h *= d * c;
    aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (std::abs(d) < kTiny) d = kTiny;
    c = 1 + aa / c;
    if (std::abs(c) < kTiny) c = kTiny;
    d = 1 / d;
    const double del = d * c;
    h *= del;
    if (std::abs(del - 1) < kEps) break;
  }
  return h;
}

// The x at which I_x(a, b) = p, by bisection (I is increasing in x).
double BetaQuantile(double p, double a, double b) {
  double lo = 0, hi = 1;
  for (int i = 0; i < 200; ++i) {
    const double mid = (lo + hi) / 2;
    (RegularizedIncompleteBeta(a, b, mid) < p ? lo : hi) = mid;
  }
  return (lo + hi) / 2;
}

}  // namespace

double RegularizedIncompleteBeta(double a, double b, double x) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const double front = std::exp(std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) +
                                a * std::log(x) + b * std::log1p(-x));
  if (x < (a + 1) / (a + b + 2)) return front * BetaContinuedFraction(a, b, x) / a;
  return 1 - front * BetaContinuedFraction(b, a, 1 - x) / b;
}

Interval ClopperPearson(int64_t successes, int64_t trials, double level) {
  Interval out;
  if (trials <= 0 || successes < 0 || successes > trials) return out;
  const double alpha = 1 - level, k = successes, n = trials;
  out.estimate = k / n;
  out.low = successes == 0 ? 0.0 : BetaQuantile(alpha / 2, k, n - k + 1);
  out.high = successes == trials ? 1.0 : BetaQuantile(1 - alpha / 2, k + 1, n - k);
  return out;
}

PatientBootstrap::PatientBootstrap(const PredictionSet& p, int positive) {
  std::map<std::string, int> index;
  std::vector<int> unit_of(p.size());
  for (int i = 0; i < p.size(); ++i) {
    const std::string group = i < static_cast<int>(p.groups.size()) ? p.groups[i] : "";
    if (group.empty()) {
      by_patient_ = false;
      unit_of[i] = static_cast<int>(units_.size());
      units_.push_back(absl::StrCat("cell ", i));
      counts_.emplace_back();
      continue;
    }
    auto [it, added] = index.emplace(group, static_cast<int>(units_.size()));
    if (added) {
      units_.push_back(group);
      counts_.emplace_back();
    }
    unit_of[i] = it->second;
  }
  std::vector<double> score(p.size());
  for (int i = 0; i < p.size(); ++i) {
    Unit& u = counts_[unit_of[i]];
    const bool actual = p.labels[i] == positive;
    const bool predicted = p.Predicted(i) == positive;
    u.cells += 1;
    u.correct += p.Predicted(i) == p.labels[i];
    u.tp += actual && predicted;
    u.fn += actual && !predicted;
    u.fp += !actual && predicted;
    u.tn += !actual && !predicted;
    score[i] = p.Row(i)[positive];
  }
  std::vector<int> order(p.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return score[a] < score[b]; });
  for (size_t k = 0; k < order.size(); ++k) {
    cell_unit_.push_back(unit_of[order[k]]);
    cell_positive_.push_back(p.labels[order[k]] == positive);
    tie_end_.push_back(k + 1 == order.size() || score[order[k + 1]] != score[order[k]]);
  }
}

CellMetrics PatientBootstrap::At(const std::vector<double>& w) const {
  Unit sum;
  for (size_t u = 0; u < counts_.size(); ++u) {
    if (w[u] == 0) continue;
    sum.cells += w[u] * counts_[u].cells;
    sum.correct += w[u] * counts_[u].correct;
    sum.tp += w[u] * counts_[u].tp;
    sum.fn += w[u] * counts_[u].fn;
    sum.fp += w[u] * counts_[u].fp;
    sum.tn += w[u] * counts_[u].tn;
  }
  CellMetrics m;
  m.accuracy = Ratio(sum.correct, sum.cells);
  m.sensitivity = Ratio(sum.tp, sum.tp + sum.fn);
  m.specificity = Ratio(sum.tn, sum.tn + sum.fp);
  // ROC AUC with weights: the Mann-Whitney statistic over the cells in ascending score, a tie
  // counted half.
  double negatives_below = 0, u_statistic = 0, pos = 0, neg = 0, tie_pos = 0, tie_neg = 0;
  for (size_t k = 0; k < cell_unit_.size(); ++k) {
    const double weight = w[cell_unit_[k]];
    (cell_positive_[k] ? tie_pos : tie_neg) += weight;
    if (!tie_end_[k]) continue;
    u_statistic += tie_pos * (negatives_below + tie_neg / 2);
    negatives_below += tie_neg;
    pos += tie_pos;
    neg += tie_neg;
    tie_pos = tie_neg = 0;
  }
  m.roc_auc = pos > 0 && neg > 0 ? u_statistic / (pos * neg) : std::nan("");
  return m;
}

std::vector<double> BootstrapWeights(int units, uint64_t seed, int replicate) {
  // One stream per replicate: a replicate's draw does not depend on how many came before.
  std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32),
                    static_cast<uint32_t>(replicate), 0x5eedu};
  std::mt19937_64 rng(seq);
  std::vector<double> w(units, 0);
  if (units == 0) return w;
  std::uniform_int_distribution<int> pick(0, units - 1);
  for (int i = 0; i < units; ++i) w[pick(rng)] += 1;
  return w;
}

Interval PercentileInterval(double estimate, std::vector<double> values, double level) {
  Interval out;
  out.estimate = estimate;
  values.erase(
      std::remove_if(values.begin(), values.end(), [](double v) { return !std::isfinite(v); }),
      values.end());
  if (values.empty() || !std::isfinite(estimate)) return out;
  std::sort(values.begin(), values.end());
  auto quantile = [&](double q) {
    const double at = q * (values.size() - 1);
    const size_t lo = static_cast<size_t>(std::floor(at));
    const size_t hi = std::min(lo + 1, values.size() - 1);
    return values[lo] + (at - lo) * (values[hi] - values[lo]);
  };
  out.low = quantile((1 - level) / 2);
  out.high = quantile((1 + level) / 2);
  return out;
}

namespace {

// Bootstraps `metrics(w)` over replicates whose unit weights `draw(r)` gives; the estimate at
// weight 1 each.
template <typename Draw, typename F>
MetricIntervals Bootstrap(int units, bool by_patient, const BootstrapOptions& o, Draw draw,
                          F metrics) {
  const CellMetrics at_one = metrics(std::vector<double>(units, 1.0));
  std::vector<double> acc, auc, sens, spec;
  for (int r = 0; r < o.replicates && units > 0; ++r) {
    const CellMetrics m = metrics(draw(r));
    acc.push_back(m.accuracy);
    auc.push_back(m.roc_auc);
    sens.push_back(m.sensitivity);
    spec.push_back(m.specificity);
  }
  MetricIntervals out;
  out.units = units;
  out.by_patient = by_patient;
  out.replicates = o.replicates;
  out.accuracy = PercentileInterval(at_one.accuracy, acc, o.level);
  out.roc_auc = PercentileInterval(at_one.roc_auc, auc, o.level);
  out.sensitivity = PercentileInterval(at_one.sensitivity, sens, o.level);
  out.specificity = PercentileInterval(at_one.specificity, spec, o.level);
  return out;
}

// A resample of the units with replacement.
auto Resample(int units, const BootstrapOptions& o) {
  return [units, o](int r) { return BootstrapWeights(units, o.seed, r); };
}

}  // namespace

MetricIntervals PatientBootstrap::Intervals(const BootstrapOptions& options) const {
  const int units = static_cast<int>(units_.size());
  return Bootstrap(units, by_patient_, options, Resample(units, options),
                   [&](const std::vector<double>& w) { return At(w); });
}

MetricIntervals PatientBootstrap::NewGroupIntervals(int group,
                                                    const BootstrapOptions& options) const {
  const int units = static_cast<int>(units_.size());
  // What is known of the patients (a resample of them), then which come next (`group` draws of
  // that resample).
  auto next_group = [&](int r) {
    const std::vector<double> known = BootstrapWeights(units, options.seed, r);
    std::vector<int> pool;
    for (int u = 0; u < units; ++u) pool.insert(pool.end(), static_cast<size_t>(known[u]), u);
    std::seed_seq seq{static_cast<uint32_t>(options.seed), static_cast<uint32_t>(r), 0x6e77u};
    std::mt19937_64 rng(seq);
    std::uniform_int_distribution<int> pick(0, static_cast<int>(pool.size()) - 1);
    std::vector<double> next(units, 0);
    for (int i = 0; i < std::max(group, 1); ++i) next[pool[pick(rng)]] += 1;
    return next;
  };
  return Bootstrap(units, by_patient_, options, next_group,
                   [&](const std::vector<double>& w) { return At(w); });
}

absl::StatusOr<MetricIntervals> PairedDifference(const PredictionSet& a, const PredictionSet& b,
                                                 int positive, const BootstrapOptions& options) {
  if (a.size() != b.size() || a.labels != b.labels || a.paths != b.paths || a.groups != b.groups) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a paired difference needs both models' predictions on the same cells in the same order (",
        a.size(), " and ", b.size(), " cells)"));
  }
  const PatientBootstrap boot_a(a, positive), boot_b(b, positive);
  const int units = static_cast<int>(boot_a.units().size());
  return Bootstrap(units, boot_a.by_patient(), options, Resample(units, options),
                   [&](const std::vector<double>& w) {
                     const CellMetrics x = boot_a.At(w), y = boot_b.At(w);
                     CellMetrics d;
                     d.accuracy = x.accuracy - y.accuracy;
                     d.roc_auc = x.roc_auc - y.roc_auc;
                     d.sensitivity = x.sensitivity - y.sensitivity;
                     d.specificity = x.specificity - y.specificity;
                     return d;
                   });
}

ValueInterval ToProto(const Interval& interval) {
  ValueInterval out;
  if (!interval.known()) return out;
  out.set_estimate(interval.estimate);
  if (std::isfinite(interval.low)) out.set_low(interval.low);
  if (std::isfinite(interval.high)) out.set_high(interval.high);
  return out;
}

PatientIntervals IntervalsToProto(const MetricIntervals& m, const BootstrapOptions& options) {
  PatientIntervals out;
  out.set_level(options.level);
  out.set_replicates(m.replicates);
  out.set_seed(options.seed);
  out.set_units(m.units);
  out.set_by_patient(m.by_patient);
  // Only what is known is set: a metric without its cells (no positives, say) stays unset.
  if (m.accuracy.known()) *out.mutable_accuracy() = ToProto(m.accuracy);
  if (m.roc_auc.known()) *out.mutable_roc_auc() = ToProto(m.roc_auc);
  if (m.sensitivity.known()) *out.mutable_sensitivity() = ToProto(m.sensitivity);
  if (m.specificity.known()) *out.mutable_specificity() = ToProto(m.specificity);
  return out;
}

PatientIntervals PatientIntervalsOf(const PredictionSet& predictions, int positive,
                                    const ClassificationReport& report,
                                    const BootstrapOptions& options) {
  const MetricIntervals m = PatientBootstrap(predictions, positive).Intervals(options);
  PatientIntervals out = IntervalsToProto(m, options);
  out.set_replicates(options.replicates);
  auto put = [&out](const Interval& i, ValueInterval* (PatientIntervals::*field)()) {
    if (i.known()) *(out.*field)() = ToProto(i);
  };

  // The patient diagnosis: counts of patients, exact intervals.
  int64_t patients = 0, right = 0, infected = 0, caught = 0, healthy = 0, cleared = 0;
  if (report.has_parasitemia() && report.parasitemia().patients() > 0) {
    const ParasitemiaSummary& s = report.parasitemia();
    patients = s.patients();
    infected = s.infected_patients();
    healthy = patients - infected;
    right = std::llround(s.diagnosis_accuracy() * patients);
    caught = std::llround(s.diagnosis_sensitivity() * infected);
    cleared = std::llround(s.diagnosis_specificity() * healthy);
  } else if (report.has_patients() && report.patients().patients() > 0) {
    const PatientSummary& s = report.patients();
    patients = s.patients();
    infected = s.infected_patients();
    healthy = patients - infected;
    right = patients - s.missed_patients() - s.false_alarm_patients();
    caught = infected - s.missed_patients();
    cleared = healthy - s.false_alarm_patients();
  }
  if (patients > 0) {
    put(ClopperPearson(right, patients, options.level),
        &PatientIntervals::mutable_diagnosis_accuracy);
    put(ClopperPearson(caught, infected, options.level),
        &PatientIntervals::mutable_diagnosis_sensitivity);
    put(ClopperPearson(cleared, healthy, options.level),
        &PatientIntervals::mutable_diagnosis_specificity);
  }
  return out;
}

std::string IntervalText(const Interval& i, int digits, double level) {
  if (!i.known()) return "-";
  if (!std::isfinite(i.low) || !std::isfinite(i.high)) {
    return absl::StrFormat("%.*f %%", digits, 100 * i.estimate);
  }
  return absl::StrFormat("%.*f %% (%g %% CI %.*f-%.*f)", digits, 100 * i.estimate, 100 * level,
                         digits, 100 * i.low, digits, 100 * i.high);
}

namespace {

Interval FromProto(const ValueInterval& v) {
  Interval out;
  if (v.has_estimate()) out.estimate = v.estimate();
  if (v.has_low()) out.low = v.low();
  if (v.has_high()) out.high = v.high();
  return out;
}

// "96.1 % (93.9-97.8)"; as a fraction with `percent` false: "0.991 (0.982-0.996)"; "-" when
// unknown.
std::string Short(const ValueInterval& v, bool percent = true) {
  const Interval i = FromProto(v);
  if (!i.known()) return "-";
  const double scale = percent ? 100 : 1;
  const int digits = percent ? 1 : 3;
  const char* unit = percent ? " %" : "";
  if (!std::isfinite(i.low) || !std::isfinite(i.high)) {
    return absl::StrFormat("%.*f%s", digits, scale * i.estimate, unit);
  }
  return absl::StrFormat("%.*f%s (%.*f-%.*f)", digits, scale * i.estimate, unit, digits,
                         scale * i.low, digits, scale * i.high);
}

}  // namespace

std::string PatientIntervalsText(const PatientIntervals& p) {
  if (!p.has_accuracy()) return "";
  std::string out = absl::StrFormat(
      "%g %% intervals over %d %s (bootstrap, %d resamples): accuracy %s, ROC AUC %s, "
      "sensitivity %s, specificity %s",
      100 * p.level(), p.units(), p.by_patient() ? "patients" : "patients and unassigned cells",
      p.replicates(), Short(p.accuracy()), Short(p.roc_auc(), false), Short(p.sensitivity()),
      Short(p.specificity()));
  if (p.has_diagnosis_accuracy()) {
    absl::StrAppendFormat(&out,
                          "\n  patient diagnosis (exact binomial): accuracy %s, sensitivity %s, "
                          "specificity %s",
                          Short(p.diagnosis_accuracy()), Short(p.diagnosis_sensitivity()),
                          Short(p.diagnosis_specificity()));
  }
  return out;
}

std::string DifferenceText(const MetricIntervals& d) {
  auto points = [](const Interval& i) {
    return i.known() ? absl::StrFormat("%+.2f points (95 %% CI %+.2f to %+.2f)", 100 * i.estimate,
                                       100 * i.low, 100 * i.high)
                     : std::string("-");
  };
  return absl::StrFormat("accuracy %s, ROC AUC %s, sensitivity %s, specificity %s",
                         points(d.accuracy), points(d.roc_auc), points(d.sensitivity),
                         points(d.specificity));
}

}  // namespace malaria::evaluation
