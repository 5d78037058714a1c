#include "experiments/store/metrics_table.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace malaria::experiments {

namespace {

// One column of metrics.csv: its name, how it is written and how it is read back.
struct Column {
  const char* name;
  std::function<std::string(const EpochRow&)> write;
  std::function<bool(const std::string&, EpochRow*)> read;
};

Column Real(const char* name, double EpochRow::*field, const char* format = "%.6f") {
  return {name,
          [field, format](const EpochRow& r) {
            char text[64];
            std::snprintf(text, sizeof(text), format, r.*field);
            return std::string(text);
          },
          [field](const std::string& text, EpochRow* r) {
            return absl::SimpleAtod(text, &(r->*field));
          }};
}

Column Count(const char* name, int64_t EpochRow::*field) {
  return {name, [field](const EpochRow& r) { return absl::StrCat(r.*field); },
          [field](const std::string& text, EpochRow* r) {
            return absl::SimpleAtoi(text, &(r->*field));
          }};
}

// Every column, in the order written. Files of older runs may lack the later ones; they read as
// NaN (or 0 for counts).
const std::vector<Column>& Columns() {
  static const std::vector<Column>* columns = new std::vector<Column>{
      {"stage", [](const EpochRow& r) { return r.stage; },
       [](const std::string& t, EpochRow* r) {
         r->stage = t;
         return true;
       }},
      {"epoch", [](const EpochRow& r) { return absl::StrCat(r.epoch); },
       [](const std::string& t, EpochRow* r) { return absl::SimpleAtoi(t, &r->epoch); }},
      Real("train_loss", &EpochRow::train_loss),
      Real("valid_loss", &EpochRow::valid_loss),
      Real("accuracy", &EpochRow::accuracy),
      Real("error_rate", &EpochRow::error_rate),
      Real("lr", &EpochRow::lr, "%.6g"),
      Real("seconds", &EpochRow::seconds, "%.2f"),
      Real("sensitivity", &EpochRow::sensitivity),
      Real("specificity", &EpochRow::specificity),
      Real("f1", &EpochRow::f1),
      Real("roc_auc", &EpochRow::roc_auc),
      Count("false_negatives", &EpochRow::false_negatives),
      Count("false_positives", &EpochRow::false_positives),
      {"best", [](const EpochRow& r) { return std::string(r.best ? "1" : "0"); },
       [](const std::string& t, EpochRow* r) {
         int best = 0;
         if (!absl::SimpleAtoi(t, &best)) return false;
         r->best = best != 0;
         return true;
       }},
      Real("precision", &EpochRow::precision),
      Real("false_negative_rate", &EpochRow::false_negative_rate),
      Real("false_positive_rate", &EpochRow::false_positive_rate),
      Real("calibration_error", &EpochRow::calibration_error),
      Real("patient_accuracy", &EpochRow::patient_accuracy),
      Real("raw_accuracy", &EpochRow::raw_accuracy),
      Real("elapsed_seconds", &EpochRow::elapsed_seconds, "%.1f"),
      Real("train_tflop", &EpochRow::train_tflop, "%.4f"),
      Real("valid_tflop", &EpochRow::valid_tflop, "%.4f"),
  };
  return *columns;
}

}  // namespace

const char* MetricsTable::Header() {
  static const std::string* header = [] {
    std::vector<std::string> names;
    for (const Column& c : Columns()) names.push_back(c.name);
    return new std::string(absl::StrJoin(names, ","));
  }();
  return header->c_str();
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
    std::vector<std::string> fields;
    for (const Column& c : Columns()) fields.push_back(c.write(r));
    absl::StrAppend(&out, absl::StrJoin(fields, ","), "\n");
  }
  return out;
}

absl::StatusOr<MetricsTable> MetricsTable::FromCsv(const std::string& text,
                                                   const std::vector<std::string>& stages) {
  MetricsTable table;
  const std::vector<std::string> lines = absl::StrSplit(text, '\n', absl::SkipEmpty());
  // The header names the columns; older runs wrote a prefix of today's (15 or 20 columns).
  const std::vector<std::string> names =
      lines.empty() ? std::vector<std::string>() : absl::StrSplit(lines[0], ',');
  const std::vector<Column>& columns = Columns();
  if (names.size() < 15 || names.size() > columns.size()) {
    return absl::InvalidArgumentError("metrics.csv: missing or unexpected header");
  }
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] != columns[i].name) {
      return absl::InvalidArgumentError(absl::StrCat("metrics.csv: unexpected column '", names[i],
                                                     "' (expected '", columns[i].name, "')"));
    }
  }
  for (size_t n = 1; n < lines.size(); ++n) {
    const std::vector<std::string> f = absl::StrSplit(lines[n], ',');
    auto bad = [&](const std::string& why) {
      return absl::InvalidArgumentError(absl::StrCat("metrics.csv line ", n + 1, ": ", why));
    };
    if (f.size() != names.size()) {
      return bad(absl::StrCat(f.size(), " fields, expected ", names.size()));
    }
    EpochRow r;
    for (size_t i = 0; i < f.size(); ++i) {
      if (!columns[i].read(f[i], &r)) {
        return bad(absl::StrCat("'", f[i], "' is not a value for ", columns[i].name));
      }
    }
    const auto it = std::find(stages.begin(), stages.end(), r.stage);
    if (it == stages.end()) return bad(absl::StrCat("unknown stage '", r.stage, "'"));
    r.stage_index = static_cast<int>(it - stages.begin());
    table.rows_.push_back(r);
  }
  return table;
}

std::vector<TimeToAccuracy> MetricsTable::TimesToAccuracy(
    const std::vector<double>& thresholds) const {
  std::vector<TimeToAccuracy> out;
  for (double t : thresholds) {
    for (const EpochRow& r : rows_) {
      if (r.accuracy >= t && std::isfinite(r.elapsed_seconds)) {
        out.push_back({t, r.elapsed_seconds, r.stage, r.epoch, r.train_tflop});
        break;
      }
    }
  }
  return out;
}

void MetricsTable::Summarize(int stage_index, StageSummary* summary) const {
  // Each of the stage's epochs: its counted TFLOP (the cumulative counts' step; NaN in records
  // written before them) and its seconds.
  struct EpochWork {
    double tflop, seconds;
  };
  std::vector<EpochWork> work;
  double before = 0;
  summary->clear_best_epoch();
  summary->clear_best_accuracy();
  summary->clear_final_accuracy();
  for (const EpochRow& r : rows_) {
    const double cumulative = r.train_tflop + r.valid_tflop;
    const double tflop = cumulative - before;
    before = cumulative;
    if (r.stage_index != stage_index) continue;
    work.push_back({tflop, r.seconds});
    summary->set_final_accuracy(r.accuracy);
    if (r.best) {
      summary->set_best_epoch(r.epoch);
      summary->set_best_accuracy(r.accuracy);
    }
  }
  const int epochs = static_cast<int>(work.size());
  summary->set_epochs_completed(epochs);
  summary->clear_mean_epoch_seconds();
  summary->clear_achieved_gflops();
  if (epochs == 0) return;
  double seconds = 0;
  for (const EpochWork& w : work) seconds += w.seconds;
  summary->set_mean_epoch_seconds(seconds / epochs);
  // The rate: FLOPs per second of the epochs after the first (its warm-up), or of the only one.
  double rate_tflop = 0, rate_seconds = 0;
  for (size_t i = epochs > 1 ? 1 : 0; i < work.size(); ++i) {
    rate_tflop += work[i].tflop;
    rate_seconds += work[i].seconds;
  }
  if (std::isfinite(rate_tflop) && rate_seconds > 0 && rate_tflop > 0) {
    summary->set_achieved_gflops(1000 * rate_tflop / rate_seconds);
  }
}

}  // namespace malaria::experiments
