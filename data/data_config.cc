#include "data/data_config.h"

#include "absl/strings/str_cat.h"
#include "data/image_size.h"

namespace malaria::data {

void FillDataDefaults(DataConfig* config) {
  if (config->split().kind_case() == SplitConfig::KIND_NOT_SET) {
    config->mutable_split()->mutable_random();
  }
  NormalizationConfig* n = config->mutable_normalization();
  if (n->mean_size() == 0) {
    for (float v : kImageNetMean) n->add_mean(v);
  }
  if (n->std_size() == 0) {
    for (float v : kImageNetStd) n->add_std(v);
  }
}

namespace {

void ValidateSplit(const SplitConfig& split, const base::ConfigProblems& p) {
  switch (split.kind_case()) {
    case SplitConfig::kRandom: {
      const float v = split.random().valid_pct();
      p.In("random").Require(v > 0 && v < 1, "valid_pct", "must be in (0, 1)", v);
      break;
    }
    case SplitConfig::kPatient: {
      const float v = split.patient().valid_pct();
      p.In("patient").Require(v > 0 && v < 1, "valid_pct", "must be in (0, 1)", v);
      break;
    }
    case SplitConfig::kPatientKfold: {
      const PatientKFold& k = split.patient_kfold();
      const base::ConfigProblems kp = p.In("patient_kfold");
      kp.Require(k.folds() >= 2 && k.folds() <= 1000, "folds", "must be in [2, 1000]", k.folds());
      kp.Require(k.fold() >= 0 && k.fold() < k.folds(), "fold",
                 absl::StrCat("must be in [0, ", k.folds(), ")"), k.fold());
      break;
    }
    case SplitConfig::KIND_NOT_SET:
      break;  // the study's random split (FillDataDefaults)
  }
}

void ValidateAugmentation(const AugmentationConfig& a, const base::ConfigProblems& p) {
  p.Require(a.max_rotate() >= 0 && a.max_rotate() <= 180, "max_rotate",
            "must be in [0, 180] degrees", a.max_rotate());
  p.Require(a.max_zoom() >= 1 && a.max_zoom() <= 4, "max_zoom", "must be in [1, 4]", a.max_zoom());
  p.Require(a.max_warp() >= 0 && a.max_warp() < 1, "max_warp", "must be in [0, 1)", a.max_warp());
  p.Require(a.max_lighting() >= 0 && a.max_lighting() < 1, "max_lighting", "must be in [0, 1)",
            a.max_lighting());
  p.Require(a.p_affine() >= 0 && a.p_affine() <= 1, "p_affine", "must be a probability in [0, 1]",
            a.p_affine());
  p.Require(a.p_lighting() >= 0 && a.p_lighting() <= 1, "p_lighting",
            "must be a probability in [0, 1]", a.p_lighting());
  p.Require(!a.alternate_flips() || a.do_flip(), "alternate_flips",
            "needs do_flip (there are no flips to alternate)", a.do_flip() ? "true" : "false");
  p.Require(!a.alternate_flips() || a.enabled(), "alternate_flips",
            "needs the augmentation enabled (with it off, no image is flipped)", "enabled false");
}

void ValidateNormalization(const NormalizationConfig& n, const base::ConfigProblems& p) {
  p.Require(n.mean_size() == 0 || n.mean_size() == 3, "mean", "needs 3 values (R, G, B) or none",
            n.mean_size());
  p.Require(n.std_size() == 0 || n.std_size() == 3, "std", "needs 3 values (R, G, B) or none",
            n.std_size());
  for (int i = 0; i < n.std_size(); ++i) {
    p.Require(n.std(i) > 0, absl::StrCat("std[", i, "]"), "must be > 0", n.std(i));
  }
}

void ValidateSyntheticFallback(const SyntheticFallback& s, const base::ConfigProblems& p) {
  p.Require(s.num_images() >= 20, "num_images", "must be >= 20", s.num_images());
  p.Require(s.source_size() >= 16, "source_size", "must be >= 16", s.source_size());
  RequireImageSize(p, "image_size", s.image_size());
  p.Require(s.hard_negative_fraction() >= 0 && s.hard_negative_fraction() <= 1,
            "hard_negative_fraction", "must be in [0, 1]", s.hard_negative_fraction());
  p.Require(s.num_patients() >= 1, "num_patients", "must be >= 1", s.num_patients());
  p.Require(s.difficulty() >= 0 && s.difficulty() <= 1, "difficulty", "must be in [0, 1]",
            s.difficulty());
}

}  // namespace

void ValidateDataConfig(const DataConfig& d, const base::ConfigProblems& p) {
  RequireImageSize(p, "image_size", d.image_size());
  p.Require(d.batch_size() >= 1 && d.batch_size() <= 8192, "batch_size", "must be in [1, 8192]",
            d.batch_size());
  p.Require(d.loader_threads() >= 0, "loader_threads", "must be >= 0 (0: every core)",
            d.loader_threads());
  p.Require(d.prefetch_batches() >= 1, "prefetch_batches", "must be >= 1", d.prefetch_batches());
  p.Require(d.max_images() >= 0, "max_images", "must be >= 0 (0: all)", d.max_images());
  p.Require(d.cache_mib() >= 0, "cache_mib", "must be >= 0", d.cache_mib());
  ValidateSplit(d.split(), p.In("split"));
  ValidateAugmentation(d.augmentation(), p.In("augmentation"));
  ValidateNormalization(d.normalization(), p.In("normalization"));
  ValidateSyntheticFallback(d.synthetic_fallback(), p.In("synthetic_fallback"));
}

absl::StatusOr<LoaderOptions> BuildLoaderOptions(const DataConfig& config, LoaderRole role,
                                                 uint64_t seed, int default_threads) {
  LoaderOptions options;
  options.batch_size = config.batch_size();
  options.image_size = config.image_size();
  const NormalizationConfig& n = config.normalization();
  if ((n.mean_size() != 0 && n.mean_size() != 3) || (n.std_size() != 0 && n.std_size() != 3)) {
    return absl::InvalidArgumentError(
        absl::StrCat("data.normalization: mean and std need 3 values each (R, G, B), got ",
                     n.mean_size(), " and ", n.std_size()));
  }
  for (int c = 0; c < 3; ++c) {
    if (n.mean_size() == 3) options.mean[c] = n.mean(c);
    if (n.std_size() == 3) options.std[c] = n.std(c);
  }
  options.threads = config.loader_threads() > 0 ? config.loader_threads() : default_threads;
  options.prefetch = config.prefetch_batches();
  options.seed = seed;
  if (role == LoaderRole::kTraining) {
    options.shuffle = true;
    options.drop_last = true;
    options.augment = config.augmentation().enabled();
    options.augmentation = config.augmentation();
  }
  return options;
}

absl::StatusOr<Split> BuildSplit(const SplitConfig& config, const Dataset& dataset, uint64_t seed) {
  if (config.has_seed()) seed = config.seed();
  absl::StatusOr<Split> made;
  std::string field;
  switch (config.kind_case()) {
    case SplitConfig::kRandom:
      return RandomSplit(static_cast<int>(dataset.examples.size()), config.random().valid_pct(),
                         seed);
    case SplitConfig::kPatient:
      field = "data.split.patient";
      made = PatientSplit(dataset, config.patient().valid_pct(), seed);
      break;
    case SplitConfig::kPatientKfold:
      field = "data.split.patient_kfold";
      made =
          PatientFold(dataset, config.patient_kfold().folds(), config.patient_kfold().fold(), seed);
      break;
    default:
      return absl::InvalidArgumentError(
          "data.split: not set; choose random { ... }, patient { ... } or patient_kfold { ... }");
  }
  if (!made.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(field, ": ", made.status().message()));
  }
  return made;
}

}  // namespace malaria::data
