#include "training/training_config.h"

#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "data/image_size.h"
#include "models/architectures.h"
#include "training/schedule.h"

// This file reads the deprecated fields on purpose (UpgradeTrainingConfig, and the check that none
// is left): their accessors' deprecation warnings say nothing here.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace malaria::training {
namespace {

void ValidateStage(const StageConfig& s, const base::ConfigProblems& p) {
  if (!ValidName(s.name())) {
    p.Add("name", absl::StrCat("must be set, using letters, digits, '.', '_' and '-', got '",
                               s.name(), "'"));
  }
  p.Require(s.epochs() > 0, "epochs", "must be > 0", s.epochs());
  if (s.lr().has_auto_()) {
    p.Require(s.lr().auto_(), "lr.auto", "must be true when set", "false");
  } else if (absl::StatusOr<std::vector<double>> lrs =
                 LayerGroupLrs(s.lr(), models::kNumLayerGroups);
             !lrs.ok()) {
    p.AddBelow(lrs.status().message());  // "lr.slice.stop: must be ..."
  }
  const int groups = models::kNumLayerGroups;
  p.Require(s.freeze_to() >= -groups && s.freeze_to() < groups, "freeze_to",
            absl::StrCat("must be in [", -groups, ", ", groups - 1, "] for the ", groups,
                         " layer groups (-1: only the head trains, 0: all train)"),
            s.freeze_to());
  const OneCycleConfig& c = s.one_cycle();
  const base::ConfigProblems cp = p.In("one_cycle");
  cp.Require(c.pct_start() > 0 && c.pct_start() < 1, "pct_start", "must be in (0, 1)",
             c.pct_start());
  cp.Require(c.div_factor() > 0, "div_factor", "must be > 0", c.div_factor());
  cp.Require(c.final_div_factor() > 0, "final_div_factor", "must be > 0", c.final_div_factor());
  cp.Require(c.moms_max() > 0 && c.moms_max() < 1, "moms_max", "must be in (0, 1)", c.moms_max());
  cp.Require(c.moms_min() > 0 && c.moms_min() < 1, "moms_min", "must be in (0, 1)", c.moms_min());
  if (ProgressiveResizeOn(s)) {
    const ProgressiveResizeConfig& r = s.progressive_resize();
    const base::ConfigProblems rp = p.In("progressive_resize");
    data::RequireImageSize(rp, "start_size", r.start_size());
    rp.Require(r.start_epoch() >= 0, "start_epoch", "must be >= 0", r.start_epoch());
    rp.Require(
        r.end_epoch() > r.start_epoch() && r.end_epoch() < s.epochs(), "end_epoch",
        absl::StrCat("must be in (start_epoch, epochs) = (", r.start_epoch(), ", ", s.epochs(),
                     "): epochs count from 0 and the last trains at "
                     "data.image_size"),
        r.end_epoch());
  }
  const OptimizerConfig& o = s.optimizer();
  const base::ConfigProblems op = p.In("optimizer");
  op.Require(o.beta2() >= 0 && o.beta2() < 1, "beta2", "must be in [0, 1)", o.beta2());
  op.Require(o.eps() > 0, "eps", "must be > 0", o.eps());
  op.Require(o.weight_decay() >= 0, "weight_decay", "must be >= 0", o.weight_decay());
  op.Require(o.bn_lr_scale() >= 0, "bn_lr_scale",
             "must be >= 0 (the BatchNorm layers' learning rate over the others'; 0: they do not "
             "train)",
             o.bn_lr_scale());
  const LrFinderConfig& f = s.lr_finder();
  const base::ConfigProblems fp = p.In("lr_finder");
  fp.Require(f.start_lr() > 0 && f.start_lr() < f.end_lr(), "", "needs 0 < start_lr < end_lr",
             absl::StrCat(f.start_lr(), " and ", f.end_lr()));
  fp.Require(f.num_iterations() >= 2, "num_iterations", "must be >= 2", f.num_iterations());
  fp.Require(f.divergence_factor() > 1, "divergence_factor", "must be > 1", f.divergence_factor());
  fp.Require(f.smooth_beta() >= 0 && f.smooth_beta() < 1, "smooth_beta", "must be in [0, 1)",
             f.smooth_beta());
  fp.Require(f.beta1() > 0 && f.beta1() < 1, "beta1", "must be in (0, 1)", f.beta1());
}

}  // namespace

bool ValidName(const std::string& name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(c) && c != '_' && c != '-' && c != '.') return false;
  }
  return name != "." && name != "..";
}

namespace {

// Moves a deprecated field's value (`has_old`, `old_value`) into its new home (`has_new`,
// `new_value`, `set_new`) unless both are set to different values.
template <typename T, typename Set>
absl::Status Upgrade(bool has_old, T old_value, const std::string& old_name, bool has_new,
                     T new_value, const std::string& new_name, Set set_new) {
  if (!has_old) return absl::OkStatus();
  if (has_new && new_value != old_value) {
    return absl::InvalidArgumentError(
        absl::StrCat("training.", old_name, ": the deprecated spelling of training.", new_name,
                     ", which is set too, to another value (", old_name, " ", old_value, ", ",
                     new_name, " ", new_value, "); set only training.", new_name));
  }
  set_new(old_value);
  return absl::OkStatus();
}

}  // namespace

absl::Status UpgradeTrainingConfig(TrainingConfig* c) {
  if (c->has_monitor()) {
    TrainingConfig::Metric metric;
    if (c->monitor() == "accuracy") {
      metric = TrainingConfig::ACCURACY;
    } else if (c->monitor() == "valid_loss") {
      metric = TrainingConfig::VALID_LOSS;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("training.monitor: must be 'accuracy' or 'valid_loss', got '", c->monitor(),
                       "' (deprecated: training.best_epoch_by, ACCURACY or VALID_LOSS)"));
    }
    if (absl::Status s =
            Upgrade(true, TrainingConfig::Metric_Name(metric), "monitor", c->has_best_epoch_by(),
                    TrainingConfig::Metric_Name(c->best_epoch_by()), "best_epoch_by",
                    [&](const std::string&) { c->set_best_epoch_by(metric); });
        !s.ok()) {
      return s;
    }
    c->clear_monitor();
  }
  const std::vector<absl::Status> moved = {
      Upgrade(c->has_label_smoothing(), c->label_smoothing(), "label_smoothing",
              c->loss().has_label_smoothing(), c->loss().label_smoothing(), "loss.label_smoothing",
              [&](double v) { c->mutable_loss()->set_label_smoothing(v); }),
      Upgrade(c->has_mixup_alpha(), c->mixup_alpha(), "mixup_alpha", c->mixup().has_alpha(),
              c->mixup().alpha(), "mixup.alpha",
              [&](double v) { c->mutable_mixup()->set_alpha(v); }),
      Upgrade(c->has_ema_decay(), c->ema_decay(), "ema_decay", c->weight_average().has_decay(),
              c->weight_average().decay(), "weight_average.decay",
              [&](double v) { c->mutable_weight_average()->set_decay(v); }),
      Upgrade(c->has_precise_bn_batches(), c->precise_bn_batches(), "precise_bn_batches",
              c->precise_bn().has_batches(), c->precise_bn().batches(), "precise_bn.batches",
              [&](int v) { c->mutable_precise_bn()->set_batches(v); }),
  };
  for (const absl::Status& s : moved) {
    if (!s.ok()) return s;
  }
  c->clear_label_smoothing();
  c->clear_mixup_alpha();
  c->clear_ema_decay();
  c->clear_precise_bn_batches();
  return absl::OkStatus();
}

void ValidateTrainingConfig(const TrainingConfig& t, const base::ConfigProblems& p) {
  if (t.stage_size() == 0) p.Add("stage", "at least one stage is needed");
  std::vector<std::string> names;
  for (int i = 0; i < t.stage_size(); ++i) {
    const base::ConfigProblems sp = p.In(absl::StrCat("stage[", i, "]"));
    ValidateStage(t.stage(i), sp);
    for (const std::string& n : names) {
      if (n == t.stage(i).name()) sp.Add("name", absl::StrCat("'", n, "' is used twice"));
    }
    names.push_back(t.stage(i).name());
  }
  p.Require(t.threads() >= 0, "threads", "must be >= 0 (0: every core)", t.threads());
  // Deprecated spellings are read into their fields when a config is parsed or overridden.
  for (const auto& [set, name] : std::vector<std::pair<bool, const char*>>{
           {t.has_monitor(), "monitor"},
           {t.has_label_smoothing(), "label_smoothing"},
           {t.has_mixup_alpha(), "mixup_alpha"},
           {t.has_ema_decay(), "ema_decay"},
           {t.has_precise_bn_batches(), "precise_bn_batches"}}) {
    if (set) p.Add(name, "deprecated, and not upgraded (training::UpgradeTrainingConfig)");
  }
  p.Require(t.loss_smoothing_beta() >= 0 && t.loss_smoothing_beta() < 1, "loss_smoothing_beta",
            "must be in [0, 1)", t.loss_smoothing_beta());
  p.Require(t.distributed().bucket_mib() >= 1, "distributed.bucket_mib", "must be >= 1",
            t.distributed().bucket_mib());
  const double smoothing = t.loss().label_smoothing();
  p.Require(smoothing >= 0 && smoothing < 1, "loss.label_smoothing", "must be in [0, 1)",
            smoothing);
  p.Require(t.mixup().alpha() >= 0 && t.mixup().alpha() <= 10, "mixup.alpha", "must be in [0, 10]",
            t.mixup().alpha());
  const double decay = t.weight_average().decay();
  p.Require(decay >= 0 && decay < 1, "weight_average.decay", "must be in [0, 1)", decay);
  p.Require(t.precise_bn().batches() >= 0, "precise_bn.batches", "must be >= 0 (0: off)",
            t.precise_bn().batches());
  ValidateLookahead(t.lookahead(), p.In("lookahead"));
  if (t.precision() == FLOAT16 && t.device() == DEVICE_CPU) {
    p.Add("precision",
          "FLOAT16 is CUDA mixed precision, and training.device is DEVICE_CPU (use BFLOAT16 on a "
          "CPU with AVX512_BF16 units, or FLOAT32)");
  }
}

void ValidateLookahead(const LookaheadConfig& c, const base::ConfigProblems& p) {
  p.Require(c.steps() >= 0, "steps", "must be >= 0 (0: off)", c.steps());
  p.Require(c.alpha() > 0 && c.alpha() <= 1, "alpha", "must be in (0, 1]", c.alpha());
}

}  // namespace malaria::training
