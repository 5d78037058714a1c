// The per-epoch metrics of a run: what metrics.csv holds, read and written in one place.
//
//   MetricsTable table;
//   table.Add(row);                       // replaces a row of the same stage and epoch
//   RETURN_IF_ERROR(run.WriteFile("metrics.csv", table.ToCsv()));
//   absl::StatusOr<MetricsTable> back = MetricsTable::FromCsv(text, {"stage1", "stage2"});
#ifndef MALARIA_EXPERIMENTS_STORE_METRICS_TABLE_H_
#define MALARIA_EXPERIMENTS_STORE_METRICS_TABLE_H_

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "experiments/store/run_info.pb.h"

namespace malaria::experiments {

struct EpochRow {
  int stage_index = 0;
  std::string stage;
  int epoch = 0;
  double train_loss = 0, valid_loss = 0, accuracy = 0, error_rate = 0, lr = 0, seconds = 0;
  double sensitivity = 0, specificity = 0, f1 = 0, roc_auc = 0;
  int64_t false_negatives = 0, false_positives = 0;
  bool best = false;
  double precision = 0, false_negative_rate = 0, false_positive_rate = 0;
  double calibration_error = 0;
  double patient_accuracy = 0;  // patient-level diagnosis accuracy; NaN without patients
  // The raw weights' accuracy when the model validated is their moving average (training.
  // ema_decay); NaN otherwise.
  double raw_accuracy = std::nan("");
  // Wall time of the run when the epoch was done: training, validation, the learning-rate finder
  // and the data's loading since the run started (a resumed run adds its earlier sessions).
  double elapsed_seconds = std::nan("");
  // The run's compute by the end of the epoch (training/compute_meter.h): training TFLOP and
  // validation TFLOP, cumulative; NaN in runs recorded before compute was counted.
  double train_tflop = std::nan("");
  double valid_tflop = std::nan("");
};

// When a run first reached an accuracy.
struct TimeToAccuracy {
  double threshold = 0;
  double seconds = 0;  // EpochRow::elapsed_seconds of that epoch
  std::string stage;
  int epoch = 0;
  double tflop = std::nan("");  // EpochRow::train_tflop of that epoch
};

class MetricsTable {
 public:
  // The CSV header: stage,epoch,train_loss,valid_loss,accuracy,error_rate,lr,seconds,
  // sensitivity,specificity,f1,roc_auc,false_negatives,false_positives,best,precision,
  // false_negative_rate,false_positive_rate,calibration_error,patient_accuracy,raw_accuracy,
  // elapsed_seconds,train_tflop,valid_tflop.
  static const char* Header();

  // Add appends `row`, or replaces the row of the same stage and epoch.
  void Add(const EpochRow& row);

  // TrimTo drops the rows after epoch `epochs` of stage `stage_index`, and of later stages.
  void TrimTo(int stage_index, int epochs);

  std::string ToCsv() const;

  // FromCsv parses metrics.csv, also as older runs wrote it (the first 15 or 20 columns);
  // `stages` maps stage names to indices. InvalidArgument naming the line for a malformed row or
  // an unknown stage.
  static absl::StatusOr<MetricsTable> FromCsv(const std::string& text,
                                              const std::vector<std::string>& stages);

  // TimesToAccuracy returns, for each threshold the run reached, the first epoch (in the table's
  // order) whose accuracy was at least that, with its wall time. Thresholds never reached are left
  // out.
  std::vector<TimeToAccuracy> TimesToAccuracy(const std::vector<double>& thresholds) const;

  // Summarize fills the epochs completed, best and final accuracy and mean seconds per epoch of
  // stage `stage_index` from its rows.
  void Summarize(int stage_index, StageSummary* summary) const;

  const std::vector<EpochRow>& rows() const { return rows_; }

 private:
  std::vector<EpochRow> rows_;
};

}  // namespace malaria::experiments

#endif  // MALARIA_EXPERIMENTS_STORE_METRICS_TABLE_H_
