// fastai v1's schedules as pure functions: one-cycle learning rate and momentum, the learning-rate
// finder's exponential sweep, learning-rate slices over layer groups, and loss smoothing.
//
//   OneCycle cycle{.lr_max = 3e-3};
//   OneCyclePoint p = OneCycleAt(cycle, /*iteration=*/10, /*total=*/200);  // p.lr, p.mom
//   absl::StatusOr<std::vector<double>> lrs = LayerGroupLrs(stage.lr(), 3);  // one per group
#ifndef MALARIA_TRAINING_SCHEDULE_H_
#define MALARIA_TRAINING_SCHEDULE_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "training/training_config.pb.h"

namespace malaria::training {

// fastai annealing_cos: end + (start - end) / 2 * (1 + cos(pi * pct)).
double AnnealingCos(double start, double end, double pct);

// fastai annealing_exp: start * (end / start) ^ pct.
double AnnealingExp(double start, double end, double pct);

struct OneCycle {
  double lr_max = 1e-3;
  double div_factor = 25;
  double final_div_factor = 1e4;
  double pct_start = 0.3;
  double moms_max = 0.95;
  double moms_min = 0.85;
};

// OneCycleFromConfig fills a OneCycle from its config, with `lr_max`.
OneCycle OneCycleFromConfig(const OneCycleConfig& config, double lr_max);

struct OneCyclePoint {
  double lr;
  double mom;
};

// OneCycleAt returns the learning rate and momentum of training batch `iteration` (0-based) of a
// cycle of `total` batches, exactly as fastai v1's OneCycleScheduler sets them: with
// a1 = int(total * pct_start), batch i <= a1 uses AnnealingCos(lr_max / div, lr_max, i / a1) and
// batch i > a1 uses AnnealingCos(lr_max, lr_max / div / final_div, (i - a1) / (total - a1)).
// Momentum runs moms_max -> moms_min -> moms_max on the same phases.
OneCyclePoint OneCycleAt(const OneCycle& cycle, int64_t iteration, int64_t total);

// ProgressiveResizeOn says whether the stage resizes its training images progressively:
// FillDefaults writes every sub-message out, so the switch is a start_size other than 0, not
// has_().
inline bool ProgressiveResizeOn(const StageConfig& stage) {
  return stage.progressive_resize().start_size() != 0;
}

// TrainImageSize is the side of stage epoch `epoch`'s (0-based) training images under the stage's
// progressive_resize (training_config.proto): `full_size` (data.image_size) when it is unset;
// else start_size up to start_epoch, full_size from end_epoch on, and in between
// round(start_size + (full_size - start_size) * (epoch - start_epoch) / (end_epoch - start_epoch)).
int TrainImageSize(const StageConfig& stage, int epoch, int full_size);

// Learning rates must lie in (0, kMaxLearningRate): larger ones only ever diverge.
inline constexpr double kMaxLearningRate = 10;

// LayerGroupLrs is fastai's Learner.lr_range: a `max` value for every group; slice(start, stop)
// spread geometrically (start * (stop / start) ^ (i / (groups - 1))); slice(stop) gives stop / 10
// to all groups but the last. InvalidArgument, naming the field below the stage ("lr.max: must be
// in (0, 10), got 20"), for an unset value, rates outside (0, kMaxLearningRate), start > stop, or
// `auto` (which the learning-rate finder resolves first). Config validation applies the same rules
// through this function.
absl::StatusOr<std::vector<double>> LayerGroupLrs(const LearningRate& lr, int groups);

// A stage's one-cycle schedule over its layer groups: what the learner sets before every batch.
class StageSchedule {
 public:
  struct Point {
    std::vector<double> lrs;  // one per layer group
    double mom = 0;           // Adam's beta1
  };
  StageSchedule(std::vector<OneCycle> cycles, int64_t total);
  // At returns the hyper-parameters of training batch `iteration` (0-based) of the stage.
  Point At(int64_t iteration) const;
  int64_t total() const { return total_; }
  int groups() const { return static_cast<int>(cycles_.size()); }

 private:
  std::vector<OneCycle> cycles_;
  int64_t total_;
};

// BuildSchedule returns the schedule of `stage` (its one_cycle settings) with maximum learning
// rates `max_lrs`, one per layer group, over `total_iterations` batches. InvalidArgument for no
// rates, a rate outside (0, kMaxLearningRate), or no batches.
absl::StatusOr<StageSchedule> BuildSchedule(const StageConfig& stage,
                                            const std::vector<double>& max_lrs,
                                            int64_t total_iterations);

// The learning-rate finder's two suggestions.
struct LrSuggestions {
  double steepest = 0;        // fastai v1: where the smoothed loss falls fastest
  double minimum_div_10 = 0;  // a tenth of the learning rate at the smoothed loss's minimum
};

// SuggestLearningRates reads the finder's curve (learning rates and smoothed losses, in sweep
// order) as fastai v1's recorder.plot(suggestion=True) does: the steepest descent of the loss
// (numpy.gradient's minimum) without the first 10 and last 5 points (all points when fewer than
// 18), and the minimum's learning rate divided by 10. Non-finite losses never count as minimum.
LrSuggestions SuggestLearningRates(const std::vector<double>& lrs,
                                   const std::vector<double>& losses);

// fastai's SmoothenValue: an exponential moving average debiased like Adam's moments.
class SmoothedValue {
 public:
  explicit SmoothedValue(double beta) : beta_(beta) {}
  // Add feeds one value and returns the smoothed value.
  double Add(double value);
  double value() const { return smooth_; }
  int64_t count() const { return n_; }
  double moving_average() const { return mov_avg_; }
  // Restore sets the state saved from moving_average() and count().
  void Restore(double moving_average, int64_t count);

 private:
  double beta_;
  double mov_avg_ = 0;
  double smooth_ = 0;
  int64_t n_ = 0;
};

}  // namespace malaria::training

#endif  // MALARIA_TRAINING_SCHEDULE_H_
