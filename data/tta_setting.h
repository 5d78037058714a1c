// Test-time augmentation settings without torch: the range of evaluation.tta_flips and of the
// tools' --tta flag, their help text, and what each setting averages in words. The views
// themselves are training/tta.h's TtaViews.
//
//   if (!data::ValidTtaFlips(tta)) return absl::InvalidArgumentError(
//       absl::StrCat("--tta ", data::kTtaFlipsRange));
//   LOG(INFO) << data::TtaDescription(tta);   // "all 8 flips and rotations averaged"
#ifndef MALARIA_DATA_TTA_SETTING_H_
#define MALARIA_DATA_TTA_SETTING_H_

namespace malaria::data {

// The largest tta_flips: all eight symmetries of the square.
inline constexpr int kMaxTtaFlips = 3;

// What a tta_flips outside 0..kMaxTtaFlips is told ("--tta must be 0, 1, 2 or 3").
inline constexpr char kTtaFlipsRange[] = "must be 0, 1, 2 or 3";

// The help text of the tools' --tta flag.
inline constexpr char kTtaFlagHelp[] =
    "test-time augmentation: 0 none, 1 horizontal flips, 2 and vertical, 3 all 8 flips and "
    "rotations";

inline constexpr bool ValidTtaFlips(int tta_flips) {
  return tta_flips >= 0 && tta_flips <= kMaxTtaFlips;
}

// TtaClause is what TtaViews averages as a clause to append to a sentence (", horizontal flips
// averaged"; "" for 0): "accuracy 0.95" + TtaClause(2).
inline constexpr const char* TtaClause(int tta_flips) {
  return tta_flips <= 0   ? ""
         : tta_flips == 1 ? ", horizontal flips averaged"
         : tta_flips == 2 ? ", horizontal and vertical flips averaged"
                          : ", all 8 flips and rotations averaged";
}

// TtaDescription says the same on its own ("horizontal flips averaged"; "" for 0).
inline constexpr const char* TtaDescription(int tta_flips) {
  return TtaClause(tta_flips) + (tta_flips > 0 ? 2 : 0);
}

}  // namespace malaria::data

#endif  // MALARIA_DATA_TTA_SETTING_H_
