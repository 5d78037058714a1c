#include "experiments/metrics_table.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace malaria::experiments {

const char* MetricsTable::Header() {
  return "stage,epoch,train_loss,valid_loss,accuracy,error_rate,lr,seconds,sensitivity,"
         "specificity,f1,roc_auc,false_negatives,false_positives,best,precision,"
         "false_negative_rate,false_positive_rate,calibration_error,patient_accuracy";
}

void MetricsTable::Add(const EpochRow& row) {
  for (EpochRow& r : rows_) {
    if (r.stage_index == row.stage_index && r.epoch == row.epoch) {
      r = row;
      return;
    }
  }
  rows_.push_back(row);
}

void MetricsTable::TrimTo(int stage_index, int epochs) {
  rows_.erase(std::remove_if(rows_.begin(), rows_.end(),
                             [&](const EpochRow& r) {
                               return r.stage_index > stage_index ||
                                      (r.stage_index == stage_index && r.epoch > epochs);
                             }),
              rows_.end());
}

std::string MetricsTable::ToCsv() const {
  std::string out = absl::StrCat(Header(), "\n");
  for (const EpochRow& r : rows_) {
    absl::StrAppendFormat(
        &out,
        "%s,%d,%.6f,%.6f,%.6f,%.6f,%.6g,%.2f,%.6f,%.6f,%.6f,%.6f,%d,%d,%d,%.6f,%.6f,"
        "%.6f,%.6f,%.6f\n",
        r.stage, r.epoch, r.train_loss, r.valid_loss, r.accuracy, r.error_rate, r.lr, r.seconds,
        r.sensitivity, r.specificity, r.f1, r.roc_auc, r.false_negatives, r.false_positives,
        r.best ? 1 : 0, r.precision, r.false_negative_rate, r.false_positive_rate,
        r.calibration_error, r.patient_accuracy);
  }
  return out;
}

absl::StatusOr<MetricsTable> MetricsTable::FromCsv(const std::string& text,
                                                   const std::vector<std::string>& stages) {
  MetricsTable table;
  const std::vector<std::string> lines = absl::StrSplit(text, '\n', absl::SkipEmpty());
  // Runs written before the last five columns existed have only the first fifteen.
  const std::string legacy_header =
      "stage,epoch,train_loss,valid_loss,accuracy,error_rate,lr,seconds,sensitivity,specificity,"
      "f1,roc_auc,false_negatives,false_positives,best";
  if (lines.empty() || (lines[0] != Header() && lines[0] != legacy_header)) {
    return absl::InvalidArgumentError("metrics.csv: missing or unexpected header");
  }
  const size_t kFields = lines[0] == Header() ? 20 : 15;
  for (size_t n = 1; n < lines.size(); ++n) {
    const std::vector<std::string> f = absl::StrSplit(lines[n], ',');
    auto bad = [&](const std::string& why) {
      return absl::InvalidArgumentError(absl::StrCat("metrics.csv line ", n + 1, ": ", why));
    };
    if (f.size() != kFields) return bad(absl::StrCat(f.size(), " fields, expected ", kFields));
    EpochRow r;
    r.stage = f[0];
    const auto it = std::find(stages.begin(), stages.end(), r.stage);
    if (it == stages.end()) return bad(absl::StrCat("unknown stage '", r.stage, "'"));
    r.stage_index = static_cast<int>(it - stages.begin());
    int best = 0;
    if (!absl::SimpleAtoi(f[1], &r.epoch) || !absl::SimpleAtod(f[2], &r.train_loss) ||
        !absl::SimpleAtod(f[3], &r.valid_loss) || !absl::SimpleAtod(f[4], &r.accuracy) ||
        !absl::SimpleAtod(f[5], &r.error_rate) || !absl::SimpleAtod(f[6], &r.lr) ||
        !absl::SimpleAtod(f[7], &r.seconds) || !absl::SimpleAtod(f[8], &r.sensitivity) ||
        !absl::SimpleAtod(f[9], &r.specificity) || !absl::SimpleAtod(f[10], &r.f1) ||
        !absl::SimpleAtod(f[11], &r.roc_auc) || !absl::SimpleAtoi(f[12], &r.false_negatives) ||
        !absl::SimpleAtoi(f[13], &r.false_positives) || !absl::SimpleAtoi(f[14], &best) ||
        (kFields == 20 && (!absl::SimpleAtod(f[15], &r.precision) ||
                           !absl::SimpleAtod(f[16], &r.false_negative_rate) ||
                           !absl::SimpleAtod(f[17], &r.false_positive_rate) ||
                           !absl::SimpleAtod(f[18], &r.calibration_error) ||
                           !absl::SimpleAtod(f[19], &r.patient_accuracy)))) {
      return bad("a field is not a number");
    }
    r.best = best != 0;
    table.rows_.push_back(r);
  }
  return table;
}

void MetricsTable::Summarize(int stage_index, StageSummary* summary) const {
  int epochs = 0;
  double seconds = 0;
  summary->clear_best_epoch();
  summary->clear_best_accuracy();
  summary->clear_final_accuracy();
  for (const EpochRow& r : rows_) {
    if (r.stage_index != stage_index) continue;
    ++epochs;
    seconds += r.seconds;
    summary->set_final_accuracy(r.accuracy);
    if (r.best) {
      summary->set_best_epoch(r.epoch);
      summary->set_best_accuracy(r.accuracy);
    }
  }
  summary->set_epochs_completed(epochs);
  if (epochs > 0) {
    summary->set_mean_epoch_seconds(seconds / epochs);
  } else {
    summary->clear_mean_epoch_seconds();
  }
}

}  // namespace malaria::experiments
