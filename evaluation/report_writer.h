// Writes a complete evaluation of one model on one labelled set into a folder: what fastai's
// interpretation showed and more.
//
//   absl::StatusOr<ClassificationReport> r = WriteReport(folder, predictions, classes, positive,
//                                                        config, image_of);
//
// Files: metrics.pbtxt (every metric), confusion_matrix.csv and .png, roc.png, top_losses.png
// (config.top_losses() images with prediction/actual/loss/probability), most_confused.txt,
// patients.csv (when the set has patients), predictions.csv (one row per image).
#ifndef MALARIA_EVALUATION_REPORT_WRITER_H_
#define MALARIA_EVALUATION_REPORT_WRITER_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "evaluation/evaluation_config.pb.h"
#include "evaluation/predictions.h"
#include "evaluation/report.pb.h"
#include "opencv2/core/mat.hpp"

namespace malaria::evaluation {

// Returns the RGB image of example i of the prediction set (for the top-losses picture).
using ImageOf = std::function<absl::StatusOr<cv::Mat>(int)>;

// WriteReport writes the files above into `folder` (created when missing; existing files of these
// names are replaced atomically) and returns the report. An error names the file it could not
// write.
// With a `calibration` (whose temperature and threshold `predictions` already carry:
// ApplyCalibration), each patient's estimated parasitemia goes into parasitemia.csv and the
// report's parasitemia summary, diagnosed with the calibration's patient threshold.
absl::StatusOr<ClassificationReport> WriteReport(const std::string& folder,
                                                 const PredictionSet& predictions,
                                                 const std::vector<std::string>& classes,
                                                 int positive, const EvaluationConfig& config,
                                                 const ImageOf& image_of,
                                                 const Calibration* calibration = nullptr);

// ReportText returns `report` in text format (metrics.pbtxt's contents).
std::string ReportText(const ClassificationReport& report);

}  // namespace malaria::evaluation

#endif  // MALARIA_EVALUATION_REPORT_WRITER_H_
