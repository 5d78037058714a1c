// Accuracy against compute for every k-fold experiment measured (experiments/store/pareto.h):
//
//   bazel run //tools:pareto_plot -- runs/nih50_speedrun_kfold runs/nih50_16ep
//       --points $PWD/docs/pareto_points.csv --out /tmp/pareto.png   (one command line)
//
// PATHs are run directories, experiment folders or tracker roots (their patient k-fold runs,
// folded per experiment); --points adds points measured earlier (kPointsCsvHeader's columns).
// Prints the table, and with --out draws two panels as one PNG: the mean accuracy over the folds
// (+- sd) against the training TFLOP per fold model and against the minutes of training, both on
// log axes, with the Pareto front. Exit status 2 when there is no point.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/files.h"
#include "base/flags.h"
#include "base/main.h"
#include "base/text_table.h"
#include "data/image_io.h"
#include "evaluation/plot.h"
#include "experiments/store/kfold.h"
#include "experiments/store/pareto.h"
#include "opencv2/core.hpp"
#include "tools/compare.h"

namespace malaria::tools {
namespace {

using experiments::ParetoPoint;

// One panel: every point with its error bar and name, and the front through its points.
cv::Mat Panel(const std::vector<ParetoPoint>& points, double ParetoPoint::*cost,
              const std::string& x_label, const std::string& title) {
  evaluation::Series all{"patient k-fold mean +- sd", {}, {}};
  all.points = true;
  for (const ParetoPoint& p : points) {
    all.x.push_back(p.*cost);
    all.y.push_back(100 * p.accuracy);
    all.y_err.push_back(100 * p.accuracy_sd);
    all.point_labels.push_back(p.name);
  }
  evaluation::Series front{"Pareto front", {}, {}};
  for (int i : experiments::ParetoFront(points, cost)) {
    front.x.push_back(points[i].*cost);
    front.y.push_back(100 * points[i].accuracy);
  }
  evaluation::PlotOptions o;
  o.title = title;
  o.x_label = x_label;
  o.y_label = "accuracy (%)";
  o.log_x = true;
  o.width = 760;
  o.height = 520;
  return evaluation::LinePlot({all, front}, o);
}

absl::StatusOr<int> Main(int argc, char** argv) {
  std::vector<std::string> paths, csvs;
  std::string out;
  base::FlagParser flags(
      "pareto_plot [PATH...] [--points CSV]... [--out FILE.png]",
      "Accuracy against training compute and minutes for patient k-fold experiments.");
  flags.Strings("points", &csvs,
                absl::StrCat("a file of points measured earlier, header \"",
                             experiments::kPointsCsvHeader, "\" (repeatable)"));
  flags.String("out", &out, "write the picture here (PNG)");
  flags.Positional("PATH", &paths);
  absl::StatusOr<bool> go = flags.Parse(argc, argv);
  if (!go.ok()) return go.status();
  if (!*go) return base::kExitOk;
  if (paths.empty() && csvs.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("no runs and no --points\n", flags.Usage()));
  }
  if (!out.empty()) {
    // The picture's folder is checked before anything is read.
    absl::StatusOr<std::string> resolved = base::ResolveOutputFile("--out", out);
    if (!resolved.ok()) return resolved.status();
    out = *resolved;
  }

  std::vector<ParetoPoint> points;
  for (std::string csv : csvs) {
    csv = base::ResolveUserPath(csv);
    absl::StatusOr<std::string> text = base::ReadFile(csv);
    if (!text.ok()) return text.status();
    absl::StatusOr<std::vector<ParetoPoint>> read = experiments::ParsePointsCsv(*text, csv);
    if (!read.ok()) return read.status();
    points.insert(points.end(), read->begin(), read->end());
  }
  if (!paths.empty()) {
    for (std::string& p : paths) p = base::ResolveUserPath(p);
    absl::StatusOr<Comparison> c = CollectRuns(paths);
    if (!c.ok()) return c.status();
    for (const std::string& s : c->skipped) absl::FPrintF(stderr, "skipped: %s\n", s);
    const std::vector<ParetoPoint> measured =
        experiments::PointsFromKFolds(experiments::SummarizeKFolds(c->runs));
    if (measured.empty())
      absl::FPrintF(stderr, "no completed patient k-fold runs under the paths\n");
    points.insert(points.end(), measured.begin(), measured.end());
  }
  if (points.empty()) {
    absl::FPrintF(stderr, "no points to show\n");
    return base::kExitBadInput;
  }
  absl::PrintF("%s", base::FormatTextTable(experiments::ParetoTable(points), /*rule=*/true));
  if (out.empty()) return base::kExitOk;
  cv::Mat picture;
  cv::hconcat(Panel(points, &ParetoPoint::tflop, "training TFLOP per model (log)",
                    "Accuracy against compute"),
              Panel(points, &ParetoPoint::minutes, "minutes of training per model (log)",
                    "Accuracy against time"),
              picture);
  if (absl::Status s = data::WritePng(picture, out); !s.ok()) return base::AfterWriting(s);
  absl::PrintF("\npicture: %s\n", out);
  return base::kExitOk;
}

}  // namespace
}  // namespace malaria::tools

int main(int argc, char** argv) { return malaria::base::RunMain(argc, argv, malaria::tools::Main); }
