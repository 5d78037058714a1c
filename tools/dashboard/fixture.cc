#include "tools/dashboard/fixture.h"

#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/files.h"
#include "data/image_io.h"
#include "evaluation/plot.h"
#include "experiments/store/metrics_table.h"

namespace malaria::tools {
namespace {

absl::Status Write(const std::string& dir, const std::string& name, const std::string& text) {
  return base::WriteFileAtomically(base::JoinPath(dir, name), text);
}

// The accuracy after epoch e (1-based) of n: rises to `final` like a learning curve.
double AccuracyAt(const FixtureRun& run, int e) {
  return run.final_accuracy - 0.3 * std::exp(-1.5 * e / std::max(1, run.epochs) * 3);
}

std::string EscapeText(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

FixtureRun RunningFixture(const std::string& experiment, const std::string& run_id, int epochs,
                          int epochs_done) {
  FixtureRun r;
  r.experiment = experiment;
  r.run_id = run_id;
  r.status = "RUNNING";
  r.epochs = epochs;
  r.epochs_done = epochs_done;
  return r;
}

FixtureRun ManyFixture(int i) {
  FixtureRun r;
  r.experiment = absl::StrFormat("experiment_%02d", i % 20);
  r.run_id = absl::StrFormat("20261201-%06d", i);
  r.lr = 1e-3 * (1 + i % 7);
  r.final_accuracy = 0.90 + 0.0005 * (i % 97);
  r.user = i % 3 == 0 ? "alice" : "bob";
  return r;
}

absl::Status WriteFixtureRun(const std::string& root, const FixtureRun& run) {
  const std::string dir = base::JoinPath(root, absl::StrCat(run.experiment, "/", run.run_id));
  if (absl::Status s = base::MakeDirs(dir); !s.ok()) return s;
  std::string split = "patient { valid_pct: 0.1 }";
  if (run.fold >= 0) {
    split = absl::StrFormat("patient_kfold { folds: %d fold: %d }", run.folds, run.fold);
  }
  const std::string config = absl::StrFormat(
      "name: \"%s\"\ndescription: \"%s\"\nseed: 7\n"
      "data { image_size: 50 batch_size: 64 split { %s } }\n"
      "model { architecture: \"resnet18\" }\n"
      "training { stage { name: \"train\" epochs: %d freeze_to: 0 lr { max: %g } } }\n",
      run.experiment, EscapeText(run.description), split, run.epochs, run.lr);
  if (absl::Status s = Write(dir, "config.pbtxt", config); !s.ok()) return s;
  if (run.fold >= 0) {  // the fold's validation cells, the same in every experiment
    if (absl::Status s = base::MakeDirs(base::JoinPath(dir, "split")); !s.ok()) return s;
    if (absl::Status s =
            Write(dir, "split/valid.txt",
                  absl::StrFormat("cells/fold%d.png\tParasitized\t%d\n", run.fold, run.fold));
        !s.ok()) {
      return s;
    }
  }

  experiments::MetricsTable table;
  std::vector<double> epochs, accuracy, loss;
  double best = 0, reached95 = -1;
  int best_epoch = 0;
  for (int e = 1; e <= run.epochs_done; ++e) {
    experiments::EpochRow row;
    row.stage = "train";
    row.epoch = e;
    row.accuracy = AccuracyAt(run, e);
    row.error_rate = 1 - row.accuracy;
    row.valid_loss = 1 - row.accuracy + 0.05;
    row.train_loss = row.valid_loss * 1.1;
    row.lr = run.lr;
    row.seconds = 60;
    row.sensitivity = row.specificity = row.f1 = row.precision = row.accuracy;
    row.roc_auc = 0.9 + row.accuracy / 10;
    row.best = row.accuracy > best;
    row.elapsed_seconds = 60.0 * e;
    table.Add(row);
    epochs.push_back(e);
    accuracy.push_back(row.accuracy);
    loss.push_back(row.valid_loss);
    if (row.best) best = row.accuracy, best_epoch = e;
    if (reached95 < 0 && row.accuracy >= 0.95) reached95 = 60.0 * e;
  }
  const std::string csv = table.ToCsv();
  if (absl::Status s = Write(dir, "metrics.csv", csv); !s.ok()) return s;

  std::string info = absl::StrFormat(
      "experiment: \"%s\"\nrun_id: \"%s\"\nstatus: %s\nstart_time: \"2026-12-01T12:00:00Z\"\n"
      "duration_seconds: %.1f\ngit_commit: \"0123456789abcdef\"\ngit_dirty: false\n"
      "host: \"%s\"\nuser: \"%s\"\ndevice: \"cpu\"\nthreads: 2\n"
      "dataset { kind: SYNTHETIC path: \"/data\" classes: \"Parasitized\" classes: \"Uninfected\" "
      "fingerprint: \"f1e2d3c4b5a69788\" }\n",
      run.experiment, run.run_id, run.status, 60.0 * run.epochs_done, run.host, run.user);
  if (run.pid > 0) absl::StrAppendFormat(&info, "pid: %d\n", run.pid);
  if (run.tflop_per_epoch > 0) {
    absl::StrAppendFormat(&info, "training_tflop: %.4f\n", run.tflop_per_epoch * run.epochs_done);
  }
  if (!run.sweep.empty()) {
    absl::StrAppendFormat(&info, "sweep { sweep: \"%s\" trial: %d candidate: %d rung: %d",
                          run.sweep, run.trial, run.trial, run.rung);
    for (const std::string& a : run.assignment) {
      absl::StrAppendFormat(&info, " assignment: \"%s\"", EscapeText(a));
    }
    absl::StrAppendFormat(&info, " fold: %d }\n", run.fold);
  }
  if (!run.end_time.empty()) absl::StrAppendFormat(&info, "end_time: \"%s\"\n", run.end_time);
  if (run.status == "FAILED" || run.status == "INTERRUPTED") {
    absl::StrAppendFormat(&info, "reason: \"stopped at epoch %d\"\n", run.epochs_done);
  }
  if (run.epochs_done > 0) {
    absl::StrAppendFormat(&info,
                          "stage { name: \"train\" epochs_completed: %d best_epoch: %d "
                          "best_accuracy: %.6f final_accuracy: %.6f mean_epoch_seconds: 60 }\n",
                          run.epochs_done, best_epoch, best, accuracy.back());
  }
  if (reached95 > 0) {
    absl::StrAppendFormat(&info,
                          "time_to_accuracy { threshold: 0.95 seconds: %.1f stage: \"train\" "
                          "epoch: %d }\n",
                          reached95, static_cast<int>(reached95 / 60));
  }
  if (absl::Status s = Write(dir, "run_info.pbtxt", info); !s.ok()) return s;

  if (run.status == "COMPLETED" && run.epochs_done > 0) {
    const double acc = accuracy.back();
    const int n = 1000, fn = static_cast<int>((1 - acc) * n / 2), fp = fn;
    const std::string report = absl::StrFormat(
        "classes: \"Parasitized\"\nclasses: \"Uninfected\"\npositive_class: \"Parasitized\"\n"
        "examples: %d\naccuracy: %.6f\nerror_rate: %.6f\nsensitivity: %.6f\nspecificity: %.6f\n"
        "f1: %.6f\nroc_auc: %.6f\nfalse_negatives: %d\nfalse_positives: %d\n"
        "confusion: %d\nconfusion: %d\nconfusion: %d\nconfusion: %d\n"
        "expected_calibration_error: 0.02\n",
        n, acc, 1 - acc, acc, acc, acc, 0.9 + acc / 10, fn, fp, n / 2 - fn, fn, fp, n / 2 - fp);
    if (absl::Status s = Write(dir, "metrics.pbtxt", report); !s.ok()) return s;
  }
  if (run.pictures && !epochs.empty()) {
    evaluation::PlotOptions o;
    o.title = absl::StrCat(run.experiment, " learning curves");
    o.x_label = "epoch";
    o.width = 480;
    o.height = 300;
    if (absl::Status s = data::WritePng(
            evaluation::LinePlot({{"accuracy", epochs, accuracy}, {"valid loss", epochs, loss}}, o),
            base::JoinPath(dir, "learning_curves.png"));
        !s.ok()) {
      return s;
    }
    o.title = "ROC";
    o.x_label = "false positive rate";
    std::vector<double> fpr, tpr;
    for (int i = 0; i <= 20; ++i) {
      fpr.push_back(i / 20.0);
      tpr.push_back(std::pow(i / 20.0, 1 - run.final_accuracy));
    }
    if (absl::Status s = data::WritePng(evaluation::LinePlot({{"ROC", fpr, tpr}}, o),
                                        base::JoinPath(dir, "roc.png"));
        !s.ok()) {
      return s;
    }
  }
  if (run.evaluation) {
    const std::string eval = base::JoinPath(dir, "evaluations/20261202-090000");
    if (absl::Status s = base::MakeDirs(eval); !s.ok()) return s;
    if (absl::Status s = Write(eval, "metrics.pbtxt", "accuracy: 0.9400\nroc_auc: 0.9850\n");
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

}  // namespace malaria::tools
