// Writes the synthetic NIH-layout dataset (the experiments' embedded default) to a new folder.
//
//   bazel run //tools:make_synthetic_cells -- --out /tmp/cells --count 2000 --seed 42
//       [--size 96] [--difficulty 0.5] [--hard_negatives 0.5] [--patients 40] [--threads 0]
//
// The folder must not exist; it is written completely or not at all. Files are named like the NIH
// ones, with patient and slide groups, so patient-level splits work on them.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "data/synthetic.h"
#include "base/files.h"

namespace {

constexpr char kUsage[] =
    "usage: make_synthetic_cells --out DIR --count N --seed S [--size PX] [--difficulty D]\n"
    "                            [--hard_negatives F] [--patients P] [--threads T]\n";

[[noreturn]] void Usage(const std::string& problem) {
  absl::FPrintF(stderr, "%s\n%s", problem, kUsage);
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  malaria::data::SyntheticOptions options;
  std::string out;
  bool have_count = false, have_seed = false;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      absl::FPrintF(stdout, "%s", kUsage);
      return 0;
    }
    if (i + 1 >= argc) Usage(absl::StrFormat("%s needs a value", flag));
    const std::string value = argv[++i];
    bool ok = true;
    if (flag == "--out") {
      out = malaria::base::ResolveUserPath(value);
    } else if (flag == "--count") {
      ok = absl::SimpleAtoi(value, &options.num_images);
      have_count = true;
    } else if (flag == "--seed") {
      ok = absl::SimpleAtoi(value, &options.seed);
      have_seed = true;
    } else if (flag == "--size") {
      ok = absl::SimpleAtoi(value, &options.image_size);
    } else if (flag == "--difficulty") {
      ok = absl::SimpleAtof(value, &options.difficulty) && options.difficulty >= 0 &&
           options.difficulty <= 1;
    } else if (flag == "--hard_negatives") {
      ok = absl::SimpleAtof(value, &options.hard_negative_fraction) &&
           options.hard_negative_fraction >= 0 && options.hard_negative_fraction <= 1;
    } else if (flag == "--patients") {
      ok = absl::SimpleAtoi(value, &options.num_patients) && options.num_patients >= 1;
    } else if (flag == "--threads") {
      ok = absl::SimpleAtoi(value, &options.threads) && options.threads >= 0;
    } else {
      Usage(absl::StrFormat("unknown flag %s", flag));
    }
    if (!ok) Usage(absl::StrFormat("bad value '%s' for %s", value, flag));
  }
  if (out.empty() || !have_count || !have_seed) Usage("--out, --count and --seed are required");
  const absl::Status status = malaria::data::WriteSyntheticDataset(out, options);
  if (!status.ok()) {
    absl::FPrintF(stderr, "ERROR: %s\n", status.message());
    return 1;
  }
  absl::FPrintF(stdout,
                "Wrote %d synthetic cells (%d px, difficulty %.2f, %.0f%% hard negatives, %d "
                "patients, seed %d) to %s\n",
                options.num_images, options.image_size, options.difficulty,
                100 * options.hard_negative_fraction, options.num_patients, options.seed, out);
  return 0;
}
