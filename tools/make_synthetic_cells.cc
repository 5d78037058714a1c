// Writes the synthetic NIH-layout dataset (the experiments' embedded default) to a new folder.
//
//   bazel run //tools:make_synthetic_cells -- --out /tmp/cells --count 2000 --seed 42
//       [--size 96] [--difficulty 0.5] [--hard_negatives 0.5] [--patients 40] [--threads 0]
//
// The folder must not exist; it is written completely or not at all. Files are named like the NIH
// ones, with patient and slide groups, so patient-level splits work on them.
#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/files.h"
#include "base/flags.h"
#include "base/main.h"
#include "data/synthetic.h"

namespace malaria::data {
namespace {

absl::StatusOr<int> Main(int argc, char** argv) {
  SyntheticOptions options;
  options.num_images = -1;
  std::string out;
  int seed = -1;
  double difficulty = options.difficulty, hard_negatives = options.hard_negative_fraction;
  base::FlagParser flags(
      "make_synthetic_cells --out DIR --count N --seed S [--size PX] [--difficulty D]\n"
      "                            [--hard_negatives F] [--patients P] [--threads T]",
      "Writes the synthetic NIH-layout dataset to a new folder.");
  flags.String("out", &out, "the folder to create (must not exist)");
  flags.Int("count", &options.num_images, "images, half per class");
  flags.Int("seed", &seed, "seed (>= 0)");
  flags.Int("size", &options.image_size, "side of the images in pixels");
  flags.Double("difficulty", &difficulty, "0 bold parasites ... 1 faint ones, in [0, 1]");
  flags.Double("hard_negatives", &hard_negatives, "fraction of uninfected cells with a decoy");
  flags.Int("patients", &options.num_patients, "patient-like groups in the file names (>= 1)");
  flags.Int("threads", &options.threads, "writer threads (0: every core)");
  absl::StatusOr<bool> go = flags.Parse(argc, argv);
  if (!go.ok()) return go.status();
  if (!*go) return base::kExitOk;
  auto bad = [&](const std::string& problem) {
    return absl::InvalidArgumentError(absl::StrCat(problem, "\n", flags.Usage()));
  };
  if (out.empty() || options.num_images < 0 || seed < 0) {
    return bad("--out, --count and --seed are required");
  }
  if (!(difficulty >= 0 && difficulty <= 1)) return bad("--difficulty must be in [0, 1]");
  if (!(hard_negatives >= 0 && hard_negatives <= 1)) {
    return bad("--hard_negatives must be in [0, 1]");
  }
  if (options.num_patients < 1) return bad("--patients must be >= 1");
  if (options.threads < 0) return bad("--threads must be >= 0");
  options.seed = static_cast<uint64_t>(seed);
  options.difficulty = static_cast<float>(difficulty);
  options.hard_negative_fraction = static_cast<float>(hard_negatives);
  out = base::ResolveUserPath(out);
  if (absl::Status s = WriteSyntheticDataset(out, options); !s.ok()) return s;
  absl::FPrintF(stdout,
                "Wrote %d synthetic cells (%d px, difficulty %.2f, %.0f%% hard negatives, %d "
                "patients, seed %d) to %s\n",
                options.num_images, options.image_size, options.difficulty,
                100 * options.hard_negative_fraction, options.num_patients, options.seed, out);
  return base::kExitOk;
}

}  // namespace
}  // namespace malaria::data

int main(int argc, char** argv) { return malaria::base::RunMain(argc, argv, malaria::data::Main); }
