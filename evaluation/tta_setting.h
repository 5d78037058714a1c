// Test-time augmentation settings (evaluation.tta_flips, and the tools' --tta flag) in words,
// without LibTorch: the one description of the views a prediction averages (inference/tta.h
// draws them; inference::Predictor averages them).
//
//   absl::StatusOr<EvaluationConfig::TtaFlips> tta = TtaFlipsFromFlag(3);  // TTA_DIHEDRAL
//   LOG(INFO) << TtaDescription(*tta);   // "all 8 flips and rotations averaged"
#ifndef MALARIA_EVALUATION_TTA_SETTING_H_
#define MALARIA_EVALUATION_TTA_SETTING_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "evaluation/evaluation_config.pb.h"

namespace malaria::evaluation {

// What a prediction averages: the flips, and each of them shifted by shift_px pixels both ways.
struct Tta {
  EvaluationConfig::TtaFlips flips = EvaluationConfig::TTA_NONE;
  int shift_px = 0;
};

inline Tta TtaFromConfig(const EvaluationConfig& e) { return {e.tta_flips(), e.tta_shift_px()}; }

// The largest evaluation.tta_shift_px and --tta_shift.
inline constexpr int kMaxTtaShift = 8;

// The help text of the tools' --tta_shift flag.
inline constexpr char kTtaShiftFlagHelp[] =
    "multi-crop test-time augmentation: each view also shifted this many pixels down-right and "
    "up-left, the three averaged (0-8; 0: off; default: the model's own evaluation.tta_shift_px)";

// The help text of the tools' --tta flag.
inline constexpr char kTtaFlagHelp[] =
    "test-time augmentation: 0 none, 1 horizontal flips, 2 and vertical, 3 all 8 flips and "
    "rotations (default: the model's own evaluation.tta_flips, the views its run evaluated and "
    "calibrated with)";

// The tools' --tta and --tta_shift when not given: the model's own setting.
inline constexpr int kTtaOwn = -1;

// TtaFlipsFromFlag returns the setting `--tta n` names; InvalidArgument "--tta must be 0, 1, 2
// or 3" otherwise.
inline absl::StatusOr<EvaluationConfig::TtaFlips> TtaFlipsFromFlag(int n) {
  if (!EvaluationConfig::TtaFlips_IsValid(n)) {
    return absl::InvalidArgumentError(absl::StrCat("--tta must be 0, 1, 2 or 3, got ", n));
  }
  return static_cast<EvaluationConfig::TtaFlips>(n);
}

// TtaFromFlags returns the setting `--tta n --tta_shift k` name (kTtaOwn: `own`'s, the model's
// evaluation config); InvalidArgument naming the flag otherwise.
inline absl::StatusOr<Tta> TtaFromFlags(int tta, int shift_px,
                                        const EvaluationConfig& own = EvaluationConfig()) {
  if (tta == kTtaOwn) tta = own.tta_flips();
  if (shift_px == kTtaOwn) shift_px = own.tta_shift_px();
  absl::StatusOr<EvaluationConfig::TtaFlips> flips = TtaFlipsFromFlag(tta);
  if (!flips.ok()) return flips.status();
  if (shift_px < 0 || shift_px > kMaxTtaShift) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tta_shift must be in [0, ", kMaxTtaShift, "], got ", shift_px));
  }
  return Tta{*flips, shift_px};
}

// TtaClause is what the setting averages as a clause to append to a sentence (", horizontal flips
// averaged"; "" for TTA_NONE): "accuracy 0.95" + TtaClause(TTA_FLIPS).
inline const char* TtaClause(EvaluationConfig::TtaFlips tta) {
  switch (tta) {
    case EvaluationConfig::TTA_HORIZONTAL:
      return ", horizontal flips averaged";
    case EvaluationConfig::TTA_FLIPS:
      return ", horizontal and vertical flips averaged";
    case EvaluationConfig::TTA_DIHEDRAL:
      return ", all 8 flips and rotations averaged";
    default:
      return "";
  }
}

// TtaClause of both settings: ", horizontal flips averaged, each with its 1 px shifts".
inline std::string TtaClause(const Tta& tta) {
  std::string clause = TtaClause(tta.flips);
  if (tta.shift_px > 0) {
    absl::StrAppend(&clause, tta.flips == EvaluationConfig::TTA_NONE ? ", the image" : ", each",
                    " with its ", tta.shift_px, " px shifts averaged");
  }
  return clause;
}

// TtaDescription says the same on its own ("horizontal flips averaged"; "" for TTA_NONE).
inline const char* TtaDescription(EvaluationConfig::TtaFlips tta) {
  const char* clause = TtaClause(tta);
  return clause[0] == '\0' ? clause : clause + 2;
}

}  // namespace malaria::evaluation

#endif  // MALARIA_EVALUATION_TTA_SETTING_H_
