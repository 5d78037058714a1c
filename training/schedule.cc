#include "training/schedule.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

namespace malaria::training {

namespace {
constexpr double kPi = 3.14159265358979323846;
}  // namespace

double AnnealingCos(double start, double end, double pct) {
  return end + (start - end) / 2 * (std::cos(kPi * pct) + 1);
}

double AnnealingExp(double start, double end, double pct) {
  return start * std::pow(end / start, pct);
}

OneCycle OneCycleFromConfig(const OneCycleConfig& config, double lr_max) {
  OneCycle cycle;
  cycle.lr_max = lr_max;
  cycle.div_factor = config.div_factor();
  cycle.final_div_factor = config.final_div_factor();
  cycle.pct_start = config.pct_start();
  cycle.moms_max = config.moms_max();
  cycle.moms_min = config.moms_min();
  return cycle;
}

int TrainImageSize(const StageConfig& stage, int epoch, int full_size) {
  if (!ProgressiveResizeOn(stage)) return full_size;
  const ProgressiveResizeConfig& r = stage.progressive_resize();
  if (epoch <= r.start_epoch()) return r.start_size();
  if (epoch >= r.end_epoch()) return full_size;
  const double t = static_cast<double>(epoch - r.start_epoch()) / (r.end_epoch() - r.start_epoch());
  return static_cast<int>(std::lround(r.start_size() + (full_size - r.start_size()) * t));
}

OneCyclePoint OneCycleAt(const OneCycle& c, int64_t i, int64_t total) {
  const int64_t a1 = static_cast<int64_t>(total * c.pct_start);
  const int64_t a2 = total - a1;
  const double low = c.lr_max / c.div_factor;
  // fastai's Scheduler divides by max(1, n_iter).
  if (i <= a1) {
    const double pct = static_cast<double>(i) / std::max<int64_t>(1, a1);
    return {AnnealingCos(low, c.lr_max, pct), AnnealingCos(c.moms_max, c.moms_min, pct)};
  }
  const double pct = std::min(1.0, static_cast<double>(i - a1) / std::max<int64_t>(1, a2));
  return {AnnealingCos(c.lr_max, low / c.final_div_factor, pct),
          AnnealingCos(c.moms_min, c.moms_max, pct)};
}

namespace {

// "(0, kMaxLearningRate)", or an empty string when `lr` is in it.
std::string OutOfRange(double lr) {
  if (lr > 0 && lr < kMaxLearningRate) return "";
  return absl::StrCat("must be in (0, ", kMaxLearningRate, "), got ", lr);
}

}  // namespace

absl::StatusOr<std::vector<double>> LayerGroupLrs(const LearningRate& lr, int groups) {
  switch (lr.value_case()) {
    case LearningRate::kMax:
      if (const std::string bad = OutOfRange(lr.max()); !bad.empty()) {
        return absl::InvalidArgumentError(absl::StrCat("lr.max: ", bad));
      }
      return std::vector<double>(groups, lr.max());
    case LearningRate::kSlice: {
      const LrSlice& s = lr.slice();
      if (!s.has_stop()) {
        return absl::InvalidArgumentError(
            "lr.slice.stop: must be set (slice(stop) or slice(start, stop))");
      }
      if (const std::string bad = OutOfRange(s.stop()); !bad.empty()) {
        return absl::InvalidArgumentError(absl::StrCat("lr.slice.stop: ", bad));
      }
      std::vector<double> out(groups, s.stop());
      if (!s.has_start()) {
        for (int g = 0; g + 1 < groups; ++g) out[g] = s.stop() / 10;
        return out;
      }
      if (!(s.start() > 0)) {
        return absl::InvalidArgumentError(
            absl::StrCat("lr.slice.start: must be > 0, got ", s.start()));
      }
      if (s.start() > s.stop()) {
        return absl::InvalidArgumentError(
            absl::StrCat("lr.slice: needs start <= stop (the first layer group learns slowest), "
                         "got start ",
                         s.start(), ", stop ", s.stop()));
      }
      for (int g = 0; g < groups; ++g) {
        const double pct = groups == 1 ? 1.0 : static_cast<double>(g) / (groups - 1);
        out[g] = s.start() * std::pow(s.stop() / s.start(), pct);
      }
      return out;
    }
    case LearningRate::kAuto:
      return absl::InvalidArgumentError(
          "lr.auto: resolved by the learning-rate finder before training");
    case LearningRate::VALUE_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError(
      "lr: must be set: { max: ... }, { slice { start: ... stop: ... } } or { auto: true }");
}

StageSchedule::StageSchedule(std::vector<OneCycle> cycles, int64_t total)
    : cycles_(std::move(cycles)), total_(total) {}

StageSchedule::Point StageSchedule::At(int64_t iteration) const {
  Point point;
  point.lrs.reserve(cycles_.size());
  for (const OneCycle& cycle : cycles_) {
    const OneCyclePoint p = OneCycleAt(cycle, iteration, total_);
    point.lrs.push_back(p.lr);
    point.mom = p.mom;
  }
  return point;
}

absl::StatusOr<StageSchedule> BuildSchedule(const StageConfig& stage,
                                            const std::vector<double>& max_lrs,
                                            int64_t total_iterations) {
  if (max_lrs.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("stage '", stage.name(), "': no learning rate for any layer group"));
  }
  if (total_iterations <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("stage '", stage.name(), "': ", total_iterations, " training batches"));
  }
  std::vector<OneCycle> cycles;
  for (double lr : max_lrs) {
    if (const std::string bad = OutOfRange(lr); !bad.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("stage '", stage.name(), "': learning rate ", bad));
    }
    cycles.push_back(OneCycleFromConfig(stage.one_cycle(), lr));
  }
  return StageSchedule(std::move(cycles), total_iterations);
}

double SmoothedValue::Add(double value) {
  ++n_;
  mov_avg_ = beta_ * mov_avg_ + (1 - beta_) * value;
  smooth_ = mov_avg_ / (1 - std::pow(beta_, static_cast<double>(n_)));
  return smooth_;
}

void SmoothedValue::Restore(double moving_average, int64_t count) {
  mov_avg_ = moving_average;
  n_ = count;
  smooth_ = n_ == 0 ? 0 : mov_avg_ / (1 - std::pow(beta_, static_cast<double>(n_)));
}

namespace {

// numpy.gradient of `v` (central differences inside, one-sided at the ends).
std::vector<double> Gradient(const std::vector<double>& v) {
  const size_t n = v.size();
  std::vector<double> g(n, 0);
  if (n < 2) return g;
  g[0] = v[1] - v[0];
  g[n - 1] = v[n - 1] - v[n - 2];
  for (size_t i = 1; i + 1 < n; ++i) g[i] = (v[i + 1] - v[i - 1]) / 2;
  return g;
}

}  // namespace

LrSuggestions SuggestLearningRates(const std::vector<double>& lrs,
                                   const std::vector<double>& losses) {
  LrSuggestions s;
  const int n = static_cast<int>(std::min(lrs.size(), losses.size()));
  if (n == 0) return s;
  int lo = 10, hi = n - 5;
  if (hi - lo < 3) {
    lo = 0;
    hi = n;
  }
  const std::vector<double> grad =
      Gradient(std::vector<double>(losses.begin() + lo, losses.begin() + hi));
  const int steepest = static_cast<int>(std::min_element(grad.begin(), grad.end()) - grad.begin());
  s.steepest = lrs[lo + steepest];
  int min_at = 0;
  for (int i = 0; i < n; ++i) {
    if (std::isfinite(losses[i]) && losses[i] < losses[min_at]) min_at = i;
  }
  s.minimum_div_10 = lrs[min_at] / 10;
  return s;
}

}  // namespace malaria::training
