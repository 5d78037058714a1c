#include "evaluation/report_writer.h"

#include "absl/strings/str_format.h"
#include "base/files.h"
#include "data/image_io.h"
#include "evaluation/calibration.h"
#include "evaluation/intervals.h"
#include "evaluation/metrics.h"
#include "evaluation/pictures.h"
#include "google/protobuf/text_format.h"

namespace malaria::evaluation {

std::string ReportText(const ClassificationReport& report) {
  std::string text;
  google::protobuf::TextFormat::Printer printer;
  printer.SetUseShortRepeatedPrimitives(true);
  printer.PrintToString(report, &text);
  return text;
}

absl::StatusOr<ClassificationReport> WriteReport(const std::string& folder, const PredictionSet& p,
                                                 const std::vector<std::string>& classes,
                                                 int positive, const EvaluationConfig& config,
                                                 const ImageOf& image_of,
                                                 const Calibration* calibration) {
  if (absl::Status s = base::MakeDirs(folder); !s.ok()) return s;
  auto path = [&](const char* name) { return base::JoinPath(folder, name); };
  ClassificationReport report = Evaluate(p, classes, positive, config);
  if (calibration != nullptr) {
    const std::vector<ParasitemiaEstimate> estimates =
        EstimateParasitemia(p, positive, calibration->sensitivity(), calibration->specificity(),
                            calibration->patient_threshold(), calibration->patient_min_cells());
    if (!estimates.empty()) {
      *report.mutable_parasitemia() =
          SummarizeParasitemia(estimates, calibration->patient_threshold());
      if (absl::Status s =
              base::WriteFileAtomically(path("parasitemia.csv"), ParasitemiaCsv(estimates));
          !s.ok()) {
        return s;
      }
    }
  }

  if (config.bootstrap_replicates() > 0) {
    BootstrapOptions options;
    options.replicates = config.bootstrap_replicates();
    options.seed = config.bootstrap_seed();
    *report.mutable_intervals() = PatientIntervalsOf(p, positive, report, options);
  }

  if (absl::Status s = base::WriteFileAtomically(path("metrics.pbtxt"), ReportText(report));
      !s.ok()) {
    return s;
  }
  if (absl::Status s =
          base::WriteFileAtomically(path("confusion_matrix.csv"), ConfusionMatrixCsv(report));
      !s.ok()) {
    return s;
  }
  if (absl::Status s = data::WritePng(ConfusionMatrixImage(report), path("confusion_matrix.png"));
      !s.ok()) {
    return s;
  }
  std::vector<double> fpr, tpr;
  RocCurve(p, positive, &fpr, &tpr);
  if (absl::Status s = data::WritePng(RocImage(fpr, tpr, report.roc_auc()), path("roc.png"));
      !s.ok()) {
    return s;
  }
  if (absl::Status s = base::WriteFileAtomically(path("most_confused.txt"), MostConfused(report));
      !s.ok()) {
    return s;
  }
  if (absl::Status s =
          base::WriteFileAtomically(path("predictions.csv"), PredictionsCsv(p, classes));
      !s.ok()) {
    return s;
  }
  const std::vector<PatientResult> patients =
      PerPatient(p, positive, config.patient_positive_fraction(), config.patient_min_cells());
  if (!patients.empty()) {
    if (absl::Status s = base::WriteFileAtomically(path("patients.csv"), PatientCsv(patients));
        !s.ok()) {
      return s;
    }
  }
  // fastai's plot_top_losses: prediction/actual/loss/probability of the actual class.
  std::vector<cv::Mat> tiles;
  std::vector<std::vector<std::string>> titles;
  for (int i : TopLosses(p, config.top_losses())) {
    absl::StatusOr<cv::Mat> image = image_of ? image_of(i) : absl::StatusOr<cv::Mat>(cv::Mat());
    tiles.push_back(image.ok() ? *image : cv::Mat());
    titles.push_back({absl::StrFormat("%s/%s", classes[p.Predicted(i)], classes[p.labels[i]]),
                      absl::StrFormat("%.2f / %.2f", p.losses[i], p.Row(i)[p.labels[i]])});
  }
  if (absl::Status s = data::WritePng(TopLossesImage(tiles, titles), path("top_losses.png"));
      !s.ok()) {
    return s;
  }
  return report;
}

}  // namespace malaria::evaluation
