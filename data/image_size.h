// The one rule for an image side a config names (data.image_size, the synthetic fallback's
// image_size, a stage's progressive_resize.start_size), without torch.
//
//   data::RequireImageSize(problems, "image_size", config.image_size());
#ifndef MALARIA_DATA_IMAGE_SIZE_H_
#define MALARIA_DATA_IMAGE_SIZE_H_

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "base/problems.h"

namespace malaria::data {

// The ResNet body divides the side by 32 before its pooling, so 32 is the least that leaves it a
// pixel; 2048 bounds the memory a typo can ask for.
inline constexpr int kMinImageSize = 32;
inline constexpr int kMaxImageSize = 2048;

// RequireImageSize adds "<field>: must be in [32, 2048] (the ResNet body divides it by 32), got N"
// to `problems` unless `size` is in range.
inline void RequireImageSize(const base::ConfigProblems& problems, absl::string_view field,
                             int size) {
  problems.Require(size >= kMinImageSize && size <= kMaxImageSize, field,
                   absl::StrCat("must be in [", kMinImageSize, ", ", kMaxImageSize,
                                "] (the ResNet body divides it by 32)"),
                   size);
}

}  // namespace malaria::data

#endif  // MALARIA_DATA_IMAGE_SIZE_H_
