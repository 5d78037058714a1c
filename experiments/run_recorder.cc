#include "experiments/run_recorder.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "data/image_io.h"
#include "evaluation/metrics.h"
#include "evaluation/pictures.h"
#include "evaluation/plot.h"
#include "inference/predictions.h"

namespace malaria::experiments {

RunRecorder::RunRecorder(const RunDirectory& run, RunInfo* info, MetricsTable* table,
                         training::ProgressPrinter* printer, std::vector<std::string> classes,
                         int positive, const data::Dataset& dataset,
                         evaluation::EvaluationConfig config,
                         std::chrono::steady_clock::time_point started)
    : run_(run),
      info_(info),
      table_(table),
      printer_(printer),
      classes_(std::move(classes)),
      positive_(positive),
      dataset_(dataset),
      config_(std::move(config)),
      started_(started) {}

absl::Status RunRecorder::OnBatchEnd(training::FitState& state) {
  return printer_ != nullptr ? printer_->OnBatchEnd(state) : absl::OkStatus();
}

absl::Status RunRecorder::OnEpochEnd(training::FitState& state) {
  if (state.epoch_result == nullptr) return absl::OkStatus();
  if (printer_ != nullptr) printer_->PrintRow(*state.epoch_result);
  return Record(*state.epoch_result);
}

absl::Status RunRecorder::Record(const training::EpochResult& r) {
  const evaluation::ClassificationReport report = evaluation::Evaluate(
      inference::ToPredictionSet(r.valid, dataset_), classes_, positive_, config_);
  EpochRow row;
  row.stage_index = r.stage_index;
  row.stage = r.stage;
  row.epoch = r.epoch;
  row.train_loss = r.train_loss;
  row.valid_loss = r.valid_loss;
  row.accuracy = r.accuracy;
  row.error_rate = r.error_rate;
  row.lr = r.lrs.empty() ? 0 : r.lrs.back();
  row.seconds = r.seconds;
  row.sensitivity = report.sensitivity();
  row.specificity = report.specificity();
  row.f1 = report.f1();
  row.roc_auc = report.roc_auc();
  row.false_negatives = report.false_negatives();
  row.false_positives = report.false_positives();
  row.best = r.is_best;
  row.precision = report.precision();
  row.false_negative_rate = report.false_negative_rate();
  row.false_positive_rate = report.false_positive_rate();
  row.calibration_error = report.expected_calibration_error();
  row.patient_accuracy =
      report.has_patients() ? report.patients().diagnosis_accuracy() : std::nan("");
  row.raw_accuracy = r.raw_accuracy;
  // The compute so far: the row before this one's totals plus this epoch's.
  double train_tflop = 0, valid_tflop = 0;
  for (const EpochRow& e : table_->rows()) {
    if (e.stage_index < r.stage_index || (e.stage_index == r.stage_index && e.epoch < r.epoch)) {
      train_tflop = e.train_tflop;
      valid_tflop = e.valid_tflop;
    }
  }
  row.train_tflop = train_tflop + r.train_flops / 1e12;
  row.valid_tflop = valid_tflop + r.eval_flops / 1e12;
  info_->set_training_tflop(row.train_tflop);
  info_->set_validation_tflop(row.valid_tflop);
  row.elapsed_seconds =
      info_->duration_seconds() +
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  table_->Add(row);
  if (absl::Status s = run_.WriteFile("metrics.csv", table_->ToCsv()); !s.ok()) return s;
  std::vector<evaluation::CurvePoint> points;
  for (const EpochRow& e : table_->rows()) {
    points.push_back({e.stage, e.epoch, e.train_loss, e.valid_loss, e.accuracy});
  }
  if (absl::Status s = data::WritePng(evaluation::LearningCurvesImage(points, info_->experiment()),
                                      run_.File("learning_curves.png"));
      !s.ok()) {
    return s;
  }
  while (info_->stage_size() <= r.stage_index) info_->add_stage();
  StageSummary* summary = info_->mutable_stage(r.stage_index);
  if (summary->name().empty()) summary->set_name(r.stage);
  table_->Summarize(r.stage_index, summary);
  // Until the checkpoint saver has written this epoch, only the one before is resumable.
  if (checkpoints_follow_) summary->set_epochs_completed(summary->epochs_completed() - 1);
  info_->clear_time_to_accuracy();
  for (const TimeToAccuracy& t : table_->TimesToAccuracy(
           {config_.accuracy_thresholds().begin(), config_.accuracy_thresholds().end()})) {
    AccuracyReached* reached = info_->add_time_to_accuracy();
    reached->set_threshold(t.threshold);
    reached->set_seconds(t.seconds);
    reached->set_stage(t.stage);
    reached->set_epoch(t.epoch);
    if (std::isfinite(t.tflop)) reached->set_training_tflop(t.tflop);
  }
  return WriteRunInfo(run_, *info_);
}

training::Callback* RunRecorder::DurableEpochs() {
  checkpoints_follow_ = true;
  return &durable_;
}

absl::Status RunRecorder::Durable::OnEpochEnd(training::FitState& state) {
  if (state.epoch_result == nullptr) return absl::OkStatus();
  RunInfo& info = *recorder_->info_;
  while (info.stage_size() <= state.stage_index) info.add_stage();
  info.mutable_stage(state.stage_index)->set_epochs_completed(state.epoch_result->epoch);
  return WriteRunInfo(recorder_->run_, info);
}

absl::Status RecordLrFinder(const RunDirectory& run, const std::string& stage,
                            const training::LrFinderResult& found, double suggestion) {
  std::string csv = "lr,loss,smoothed_loss\n";
  for (size_t k = 0; k < found.lrs.size(); ++k) {
    absl::StrAppendFormat(&csv, "%.6g,%.6f,%.6f\n", found.lrs[k], found.raw_losses[k],
                          found.losses[k]);
  }
  if (absl::Status s = run.WriteFile(absl::StrCat("lr_find_", stage, ".csv"), csv); !s.ok()) {
    return s;
  }
  const size_t n = found.lrs.size();
  const size_t lo = n > 20 ? 10 : 0, hi = n > 20 ? n - 5 : n;
  evaluation::Series series{
      "smoothed loss", std::vector<double>(found.lrs.begin() + lo, found.lrs.begin() + hi),
      std::vector<double>(found.losses.begin() + lo, found.losses.begin() + hi)};
  evaluation::PlotOptions o;
  o.title = absl::StrCat("Learning-rate finder, ", stage);
  o.x_label = "learning rate (log scale)";
  o.y_label = "loss";
  o.log_x = true;
  o.markers = {{suggestion, absl::StrFormat("suggested %.2e", suggestion)}};
  return data::WritePng(evaluation::LinePlot({series}, o),
                        run.File(absl::StrCat("lr_find_", stage, ".png")));
}

}  // namespace malaria::experiments
