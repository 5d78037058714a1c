#include "experiments/sweep/sweep_spec.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "base/files.h"
#include "base/problems.h"
#include "base/text_proto.h"
#include "experiments/config.h"

namespace malaria::experiments {
namespace {

// The value at fraction `t` in [0, 1] of the range, on its scale.
double RangeAt(const SweepRange& r, double t) {
  if (r.scale() == SweepRange::LOG) {
    return std::exp(std::log(r.min()) + t * (std::log(r.max()) - std::log(r.min())));
  }
  return r.min() + t * (r.max() - r.min());
}

std::vector<std::vector<std::string>> Grid(const SweepConfig& sweep) {
  std::vector<std::vector<std::string>> out = {{}};
  for (const SweepAxis& axis : sweep.axis()) {
    std::vector<std::vector<std::string>> next;
    for (const std::vector<std::string>& prefix : out) {
      for (const std::string& v : AxisGridValues(axis)) {
        next.push_back(prefix);
        next.back().push_back(SweepAssignment(axis, v));
      }
    }
    out = std::move(next);
  }
  return out;
}

std::vector<std::vector<std::string>> Draws(const SweepConfig& sweep, int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::vector<std::string>> out;
  for (int i = 0; i < n; ++i) {
    std::vector<std::string> c;
    for (const SweepAxis& axis : sweep.axis()) {
      if (axis.values_size() > 0) {
        std::uniform_int_distribution<int> pick(0, axis.values_size() - 1);
        c.push_back(SweepAssignment(axis, axis.values(pick(rng))));
      } else {
        std::uniform_real_distribution<double> u(0.0, 1.0);
        const double v = RangeAt(axis.range(), u(rng));
        c.push_back(SweepAssignment(axis, SweepNumberText(v, axis.range().integer())));
      }
    }
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace

std::string SweepNumberText(double v, bool integer) {
  if (integer) return absl::StrCat(static_cast<long long>(std::llround(v)));
  return absl::StrFormat("%.6g", v);
}

std::string SweepAssignment(const SweepAxis& axis, const std::string& value) {
  return absl::StrCat(axis.field(), "=", value);
}

absl::StatusOr<SweepConfig> ParseSweepConfig(const std::string& text, const std::string& source) {
  SweepConfig sweep;
  if (absl::Status s = base::ParseTextProto(text, source, &sweep); !s.ok()) return s;
  return sweep;
}

absl::StatusOr<SweepConfig> LoadSweepConfig(const std::string& path) {
  absl::StatusOr<std::string> text = base::ReadFile(path);
  if (!text.ok()) {
    if (absl::IsNotFound(text.status())) {
      return absl::NotFoundError(absl::StrCat("sweep config ", path, " does not exist"));
    }
    return text.status();
  }
  absl::StatusOr<SweepConfig> sweep = ParseSweepConfig(*text, path);
  if (!sweep.ok()) return sweep.status();
  if (!sweep->has_name()) sweep->set_name(std::filesystem::path(path).stem().string());
  return sweep;
}

std::string SweepExperimentPath(const SweepConfig& sweep, const std::string& workspace) {
  return base::JoinPath(workspace, sweep.experiment());
}

absl::StatusOr<ExperimentConfig> LoadSweepExperiment(const SweepConfig& sweep,
                                                     const std::string& workspace) {
  if (sweep.experiment().empty()) {
    return absl::InvalidArgumentError(
        "invalid sweep config:\n  experiment: is empty; name the experiment config every trial "
        "starts from");
  }
  const std::string path = SweepExperimentPath(sweep, workspace);
  absl::StatusOr<ExperimentConfig> config = LoadExperimentConfig(path);
  if (!config.ok()) {
    return absl::Status(config.status().code(),
                        absl::StrCat("experiment: ", config.status().message()));
  }
  for (int i = 0; i < sweep.set_size(); ++i) {
    if (absl::Status s = ApplyOverride(sweep.set(i), &*config); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("invalid sweep config:\n  set[", i, "] ('",
                                                     sweep.set(i), "'): ", s.message()));
    }
  }
  return config;
}

std::vector<std::string> AxisGridValues(const SweepAxis& axis) {
  if (axis.values_size() > 0 || !axis.has_range()) {
    return {axis.values().begin(), axis.values().end()};
  }
  const SweepRange& r = axis.range();
  std::vector<std::string> out;
  const int n = std::max(1, r.points());
  for (int i = 0; i < n; ++i) {
    const std::string v =
        SweepNumberText(RangeAt(r, n == 1 ? 0.0 : double(i) / (n - 1)), r.integer());
    if (out.empty() || out.back() != v) out.push_back(v);  // integer ranges may repeat
  }
  return out;
}

std::vector<std::vector<std::string>> SweepCandidates(const SweepConfig& sweep) {
  switch (sweep.method_case()) {
    case SweepConfig::kRandom:
      return Draws(sweep, sweep.random().trials(), sweep.random().seed());
    case SweepConfig::kSuccessiveHalving:
      if (sweep.successive_halving().candidates() > 0) {
        return Draws(sweep, sweep.successive_halving().candidates(),
                     sweep.successive_halving().seed());
      }
      return Grid(sweep);
    default:
      return Grid(sweep);
  }
}

std::vector<int> SweepFolds(const SweepConfig& sweep, int k) {
  if (sweep.folds_size() > 0) return {sweep.folds().begin(), sweep.folds().end()};
  std::vector<int> all(k);
  for (int f = 0; f < k; ++f) all[f] = f;
  return all;
}

std::vector<int> RungEpochs(const SweepConfig& sweep) {
  if (sweep.method_case() != SweepConfig::kSuccessiveHalving) return {};
  const SuccessiveHalving& sh = sweep.successive_halving();
  std::vector<int> epochs;
  if (sh.min_epochs() < 1 || sh.max_epochs() < sh.min_epochs() || sh.eta() < 2) return epochs;
  for (long long e = sh.min_epochs();; e *= sh.eta()) {
    epochs.push_back(static_cast<int>(std::min<long long>(e, sh.max_epochs())));
    if (e >= sh.max_epochs()) break;
  }
  return epochs;
}

bool ValidSweepName(const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name.size() > kMaxSweepNameLength) {
    return false;
  }
  for (char c : name) {
    if (!absl::ascii_isalnum(c) && c != '.' && c != '_' && c != '-') return false;
  }
  return true;
}

std::string TrialExperimentName(const SweepConfig& sweep, int trial) {
  return absl::StrFormat("%s-t%03d", sweep.name(), trial);
}

const std::vector<std::string>& KnownObjectiveMetrics() {
  static const auto* const kMetrics = new std::vector<std::string>{"accuracy",
                                                                   "roc_auc",
                                                                   "sensitivity",
                                                                   "specificity",
                                                                   "ece",
                                                                   "patient_accuracy",
                                                                   "cal_accuracy",
                                                                   "parasitemia_mae",
                                                                   "fitted_patient_accuracy"};
  return *kMetrics;
}

std::string SweepSpecText(const SweepConfig& sweep) {
  SweepConfig copy = sweep;
  copy.clear_budget();
  copy.clear_description();
  return ToText(copy);
}

}  // namespace malaria::experiments
