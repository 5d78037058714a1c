#include "experiments/runner.h"

#include <ATen/Parallel.h>
#include <torch/utils.h>
#include <torch/version.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "data/split.h"
#include "data/synthetic.h"
#include "evaluation/metrics.h"
#include "experiments/config.h"
#include "experiments/tracker.h"
#include "glog/logging.h"
#include "models/classifier.h"
#include "models/pretrained.h"
#include "tools/util/files.h"
#include "training/learner.h"
#include "training/progress.h"
#include "training/schedule.h"

namespace malaria::experiments {
namespace {

using Clock = std::chrono::steady_clock;

int HardwareThreads() { return std::max(1u, std::thread::hardware_concurrency()); }

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

// Paths in configs are relative to the workspace (the folder holding WORKSPACE).
std::string InWorkspace(const std::string& workspace, const std::string& path) {
  return std::filesystem::path(util::JoinPath(workspace, path)).lexically_normal().string();
}

struct ResolvedData {
  std::string path;
  DatasetInfo::Kind kind = DatasetInfo::REAL;
  std::string source;  // how it was found, for the log
};

// The data folder: config, else $MALARIA_DATA, else the workspace's data/nih_malaria/cell_images,
// else the synthetic default (generated once into data/cache/ of the workspace).
absl::StatusOr<ResolvedData> ResolveData(const ExperimentConfig& config,
                                         const std::string& workspace) {
  ResolvedData r;
  if (!config.data().path().empty()) {
    r.path = InWorkspace(workspace, config.data().path());
    r.source = "data.path";
    if (!util::IsDirectory(r.path)) {
      return absl::NotFoundError(
          absl::StrCat("data.path: data folder ", r.path, " does not exist"));
    }
    return r;
  }
  if (const std::string env = Env("MALARIA_DATA"); !env.empty()) {
    r.path = util::ResolveUserPath(env);
    r.source = "$MALARIA_DATA";
    if (!util::IsDirectory(r.path)) {
      return absl::NotFoundError(
          absl::StrCat("$MALARIA_DATA: data folder ", r.path, " does not exist"));
    }
    return r;
  }
  const std::string local = util::JoinPath(workspace, "data/nih_malaria/cell_images");
  if (util::IsDirectory(local)) {
    r.path = local;
    r.source = "the workspace";
    return r;
  }
  const data::SyntheticFallback& f = config.data().synthetic_fallback();
  data::SyntheticOptions options;
  options.num_images = f.num_images();
  options.image_size = f.source_size();
  options.hard_negative_fraction = f.hard_negative_fraction();
  options.num_patients = f.num_patients();
  options.difficulty = f.difficulty();
  options.seed = config.seed();
  absl::StatusOr<std::string> dir =
      data::EnsureSyntheticDataset(util::JoinPath(workspace, "data/cache"), options);
  if (!dir.ok()) return dir.status();
  r.path = *dir;
  r.kind = DatasetInfo::SYNTHETIC;
  r.source = "the embedded synthetic default";
  return r;
}

std::string RunsRoot(const RunOptions& options, const ExperimentConfig& config,
                     const std::string& workspace) {
  if (!options.runs_dir.empty()) return util::ResolveUserPath(options.runs_dir);
  if (const std::string env = Env("MALARIA_RUNS_DIR"); !env.empty())
    return util::ResolveUserPath(env);
  if (!config.tracker().root().empty()) return InWorkspace(workspace, config.tracker().root());
  return util::JoinPath(workspace, "runs");
}

std::string Banner(const std::vector<std::string>& lines) {
  const std::string rule(78, '=');
  return absl::StrCat(rule, "\n", absl::StrJoin(lines, "\n"), "\n", rule, "\n");
}

std::string FormatLrs(const std::vector<double>& lrs) {
  std::vector<std::string> parts;
  for (double lr : lrs) parts.push_back(absl::StrFormat("%.3g", lr));
  return absl::StrJoin(parts, ", ");
}

// The split the config asks for.
absl::StatusOr<data::Split> MakeSplit(const ExperimentConfig& config,
                                      const data::Dataset& dataset) {
  const data::SplitConfig& split = config.data().split();
  absl::StatusOr<data::Split> made;
  std::string field;
  switch (split.kind_case()) {
    case data::SplitConfig::kPatient:
      field = "data.split.patient";
      made = data::PatientSplit(dataset, split.patient().valid_pct(), config.seed());
      break;
    case data::SplitConfig::kPatientKfold:
      field = "data.split.patient_kfold";
      made = data::PatientFold(dataset, split.patient_kfold().folds(), split.patient_kfold().fold(),
                               config.seed());
      break;
    default:
      return data::RandomSplit(static_cast<int>(dataset.examples.size()),
                               split.random().valid_pct(), config.seed());
  }
  if (!made.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(field, ": ", made.status().message()));
  }
  return made;
}

constexpr char kMetricsHeader[] =
    "stage,epoch,train_loss,valid_loss,accuracy,error_rate,lr,seconds,sensitivity,specificity,"
    "f1,roc_auc,false_negatives,false_positives,best\n";

// Writes each epoch to metrics.csv and run_info.pbtxt as it finishes, and shows the table.
class RunRecorder : public training::TrainingCallback {
 public:
  RunRecorder(const RunDirectory& run, RunInfo* info, training::ProgressPrinter* printer,
              const std::vector<std::string>& classes, int positive)
      : run_(run), info_(info), printer_(printer), classes_(classes), positive_(positive) {}

  void OnBatchEnd(const training::BatchProgress& p) override { printer_->OnBatchEnd(p); }

  absl::Status OnEpochEnd(const training::EpochResult& r) override {
    (void)printer_->OnEpochEnd(r);
    const evaluation::ClassificationReport report = evaluation::Evaluate(
        r.valid.probabilities, r.valid.labels, classes_, positive_, r.valid_loss);
    absl::StrAppendFormat(
        &csv_, "%s,%d,%.6f,%.6f,%.6f,%.6f,%.6g,%.2f,%.6f,%.6f,%.6f,%.6f,%d,%d,%d\n", r.stage,
        r.epoch, r.train_loss, r.valid_loss, r.accuracy, r.error_rate, r.lrs.back(), r.seconds,
        report.sensitivity(), report.specificity(), report.f1(), report.roc_auc(),
        report.false_negatives(), report.false_positives(), r.is_best ? 1 : 0);
    if (absl::Status s = run_.WriteFile("metrics.csv", absl::StrCat(kMetricsHeader, csv_));
        !s.ok()) {
      return s;
    }
    StageSummary* stage = info_->mutable_stage(r.stage_index);
    stage->set_epochs_completed(r.epoch);
    stage->set_final_accuracy(r.accuracy);
    if (r.is_best) {
      stage->set_best_epoch(r.epoch);
      stage->set_best_accuracy(r.accuracy);
    }
    epoch_seconds_sum_ += r.seconds;
    ++epochs_in_stage_;
    stage->set_mean_epoch_seconds(epoch_seconds_sum_ / epochs_in_stage_);
    return run_.WriteProto("run_info.pbtxt", *info_);
  }

  void StartStage() {
    epoch_seconds_sum_ = 0;
    epochs_in_stage_ = 0;
  }

 private:
  const RunDirectory& run_;
  RunInfo* info_;
  training::ProgressPrinter* printer_;
  std::vector<std::string> classes_;
  int positive_;
  std::string csv_;
  double epoch_seconds_sum_ = 0;
  int epochs_in_stage_ = 0;
};

std::string PredictionsCsv(const training::Predictions& p, const data::Dataset& dataset) {
  std::string out = "path,label,predicted";
  for (const std::string& c : dataset.classes) absl::StrAppend(&out, ",p_", c);
  absl::StrAppend(&out, ",loss\n");
  const std::filesystem::path root(dataset.root);
  for (int i = 0; i < p.size(); ++i) {
    const data::Example& e = dataset.examples[p.indices[i]];
    absl::StrAppend(&out, std::filesystem::path(e.path).lexically_relative(root).string(), ",",
                    dataset.classes[p.labels[i]], ",", dataset.classes[p.Predicted(i)]);
    for (int c = 0; c < p.num_classes; ++c) {
      absl::StrAppendFormat(&out, ",%.6f",
                            p.probabilities[static_cast<size_t>(i) * p.num_classes + c]);
    }
    absl::StrAppendFormat(&out, ",%.6f\n", p.losses[i]);
  }
  return out;
}

// Everything from the run directory's creation to the final evaluation. Errors are recorded by
// the caller.
absl::Status Train(const ExperimentConfig& config, const RunDirectory& run, RunInfo* info,
                   models::Classifier model, std::shared_ptr<data::ImageSource> source,
                   const data::Split& split, int positive, torch::Device device, std::FILE* out) {
  const data::DataConfig& d = config.data();
  data::LoaderOptions valid_options;
  valid_options.batch_size = d.batch_size();
  valid_options.image_size = d.image_size();
  for (int c = 0; c < 3; ++c) {
    valid_options.mean[c] = d.normalization().mean(c);
    valid_options.std[c] = d.normalization().std(c);
  }
  valid_options.threads = d.loader_threads();
  valid_options.prefetch = d.prefetch_batches();
  valid_options.seed = config.seed();
  data::LoaderOptions train_options = valid_options;
  train_options.shuffle = true;
  train_options.drop_last = true;
  train_options.augment = d.augmentation().enabled();
  train_options.augmentation = d.augmentation();
  data::BatchLoader train_loader(source, split.train, train_options);
  data::BatchLoader valid_loader(source, split.valid, valid_options);

  training::Learner::Options learner_options;
  learner_options.device = device;
  learner_options.seed = config.seed();
  learner_options.monitor = config.training().monitor();
  learner_options.checkpoint_dir = run.File("checkpoints");
  learner_options.config_text = ToText(config);
  if (absl::Status s = util::MakeDirs(learner_options.checkpoint_dir); !s.ok()) return s;
  training::Learner learner(model, &train_loader, &valid_loader, learner_options);
  training::ProgressPrinter printer(out);
  RunRecorder recorder(run, info, &printer, source->dataset().classes, positive);

  const auto& stages = config.training().stage();
  for (int i = 0; i < stages.size(); ++i) {
    const training::StageConfig& stage = stages[i];
    StageSummary* summary = info->add_stage();
    summary->set_name(stage.name());
    if (stage.lr_find() || stage.lr().has_auto_()) {
      absl::FPrintF(out, "\n%s: learning-rate finder (%g to %g over %d iterations)\n", stage.name(),
                    stage.lr_finder().start_lr(), stage.lr_finder().end_lr(),
                    stage.lr_finder().num_iterations());
      absl::StatusOr<training::LrFinderResult> found = learner.FindLr(stage, i);
      if (!found.ok()) return found.status();
      std::string csv = "lr,loss,smoothed_loss\n";
      for (size_t k = 0; k < found->lrs.size(); ++k) {
        absl::StrAppendFormat(&csv, "%.6g,%.6f,%.6f\n", found->lrs[k], found->raw_losses[k],
                              found->losses[k]);
      }
      if (absl::Status s = run.WriteFile(absl::StrCat("lr_find_", stage.name(), ".csv"), csv);
          !s.ok()) {
        return s;
      }
      const double suggestion =
          stage.lr_finder().suggestion() == training::LrFinderConfig::MINIMUM_DIV_10
              ? found->suggestion_min_div_10
              : found->suggestion_steepest;
      summary->set_lr_finder_suggestion(suggestion);
      absl::FPrintF(out, "suggested learning rate: %.3g (steepest descent), %.3g (minimum / 10)\n",
                    found->suggestion_steepest, found->suggestion_min_div_10);
    }
    std::vector<double> lrs;
    if (stage.lr().has_auto_()) {
      lrs.assign(3, summary->lr_finder_suggestion());
    } else {
      absl::StatusOr<std::vector<double>> resolved = training::LayerGroupLrs(stage.lr(), 3);
      if (!resolved.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("training.stage[", i, "].", resolved.status().message()));
      }
      lrs = *resolved;
    }
    for (double lr : lrs) summary->add_max_lr(lr);
    if (absl::Status s = run.WriteProto("run_info.pbtxt", *info); !s.ok()) return s;

    printer.StageHeader(absl::StrFormat(
        "%s: %d epochs, freeze_to %d%s, max lr per layer group [%s]", stage.name(), stage.epochs(),
        stage.freeze_to(), stage.freeze_to() != 0 && stage.train_bn() ? " (BatchNorm trains)" : "",
        FormatLrs(lrs)));
    recorder.StartStage();
    absl::StatusOr<training::StageResult> result = learner.Fit(stage, i, lrs, &recorder);
    if (!result.ok()) return result.status();
  }

  // Final evaluation on the validation set.
  const std::string& last_stage = stages[stages.size() - 1].name();
  std::string which = "the last epoch";
  if (config.evaluation().final_model() == evaluation::EvaluationConfig::BEST) {
    const std::string best =
        util::JoinPath(learner_options.checkpoint_dir, last_stage + "_best.pt");
    if (absl::Status s = training::LoadCheckpoint(best, learner.model()).status(); !s.ok())
      return s;
    which = absl::StrCat("the best epoch of ", last_stage);
  }
  absl::StatusOr<training::Predictions> predictions = learner.Predict(&valid_loader);
  if (!predictions.ok()) return predictions.status();
  const evaluation::ClassificationReport report =
      evaluation::Evaluate(predictions->probabilities, predictions->labels,
                           source->dataset().classes, positive, predictions->mean_loss);
  if (absl::Status s = run.WriteProto("metrics.pbtxt", report); !s.ok()) return s;
  if (absl::Status s =
          run.WriteFile("confusion_matrix.csv", evaluation::ConfusionMatrixCsv(report));
      !s.ok()) {
    return s;
  }
  if (absl::Status s =
          run.WriteFile("predictions.csv", PredictionsCsv(*predictions, source->dataset()));
      !s.ok()) {
    return s;
  }
  absl::FPrintF(out,
                "\nFinal model (%s) on %d validation images: accuracy %.4f, sensitivity %.4f, "
                "specificity %.4f, ROC AUC %.4f, %d false negatives, %d false positives\n"
                "Confusion matrix (rows actual, columns predicted):\n%s",
                which, report.examples(), report.accuracy(), report.sensitivity(),
                report.specificity(), report.roc_auc(), report.false_negatives(),
                report.false_positives(), evaluation::ConfusionMatrixCsv(report));
  return absl::OkStatus();
}

}  // namespace

std::string WorkspaceDir() {
  if (const std::string w = Env("BUILD_WORKSPACE_DIRECTORY"); !w.empty()) return w;
  std::error_code ec;
  return std::filesystem::current_path(ec).string();
}

absl::StatusOr<RunResult> RunExperiment(const RunOptions& options) {
  const auto started = Clock::now();
  const std::time_t start_time = std::time(nullptr);
  const std::string workspace = options.workspace.empty() ? WorkspaceDir() : options.workspace;
  std::FILE* out = options.out;

  // 1. The config: parse, override, validate.
  absl::StatusOr<ExperimentConfig> loaded = LoadExperimentConfig(options.config_path);
  if (!loaded.ok()) return loaded.status();
  ExperimentConfig config = *std::move(loaded);
  for (const std::string& o : options.overrides) {
    if (absl::Status s = ApplyOverride(o, &config); !s.ok()) return s;
  }
  FillDefaults(&config);
  if (absl::Status s = ValidateExperimentConfig(config); !s.ok()) return s;

  // 2. The data: find it, or make the synthetic default.
  absl::StatusOr<ResolvedData> resolved = ResolveData(config, workspace);
  if (!resolved.ok()) return resolved.status();
  std::vector<std::string> warnings;
  if (resolved->kind == DatasetInfo::SYNTHETIC) {
    const data::SyntheticFallback& f = config.data().synthetic_fallback();
    config.mutable_data()->set_image_size(f.image_size());
    config.mutable_data()->set_max_images(0);
    const std::string message = absl::StrCat(
        "No dataset found (data.path unset, $MALARIA_DATA unset, no data/nih_malaria/cell_images "
        "in the workspace): training on the SYNTHETIC dataset in ",
        resolved->path,
        " instead. Its numbers say nothing about malaria. Fallback settings applied: ",
        f.num_images(), " images of ", f.source_size(), " px, data.image_size=", f.image_size(),
        ".");
    warnings.push_back(message);
    absl::FPrintF(out, "%s",
                  Banner({" NO DATASET FOUND: training on the embedded SYNTHETIC dataset.",
                          absl::StrCat(" ", resolved->path),
                          " Its numbers say nothing about malaria. For the real NIH data, see",
                          " README.md (tools/fetch_nih_dataset.sh, or --set data.path=DIR).",
                          absl::StrFormat(" Fallback: %d images of %d px, trained at %d px.",
                                          f.num_images(), f.source_size(), f.image_size())}));
  }
  config.mutable_data()->set_path(resolved->path);
  if (!config.model().pretrained_weights().empty()) {
    config.mutable_model()->set_pretrained_weights(
        InWorkspace(workspace, config.model().pretrained_weights()));
  }
  const std::string runs_root = RunsRoot(options, config, workspace);
  config.mutable_tracker()->set_root(runs_root);

  const int threads =
      config.training().threads() > 0 ? config.training().threads() : HardwareThreads();
  at::set_num_threads(threads);
  absl::StatusOr<torch::Device> device = training::ResolveDevice(config.training().device());
  if (!device.ok()) return device.status();

  absl::FPrintF(out, "Experiment %s: reading %s (%s)\n", config.name(), resolved->path,
                resolved->source);
  absl::StatusOr<data::Dataset> scanned = data::ScanImageFolder(resolved->path);
  if (!scanned.ok()) return scanned.status();
  const auto& classes = scanned->classes;
  const auto positive_it =
      std::find(classes.begin(), classes.end(), config.evaluation().positive_class());
  if (positive_it == classes.end()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "evaluation.positive_class: '", config.evaluation().positive_class(),
        "' is not a class of ", resolved->path, " (classes: ", absl::StrJoin(classes, ", "), ")"));
  }
  const int positive = static_cast<int>(positive_it - classes.begin());
  const data::Dataset dataset = data::SubsetOf(
      *scanned, data::StratifiedSubset(*scanned, config.data().max_images(), config.seed()));

  // Decode everything once (the cache), finding unreadable files before anything trains.
  std::vector<data::BadImage> bad;
  auto source = std::make_shared<data::ImageSource>(
      data::ImageSource::Load(dataset, config.data().image_size(), config.data().loader_threads(),
                              static_cast<int64_t>(config.data().cache_mib()) << 20, &bad));
  for (const data::BadImage& b : bad) LOG(WARNING) << "skipping unreadable image: " << b.error;
  if (!bad.empty() && config.data().strict()) {
    return absl::DataLossError(absl::StrCat(
        bad.size(), " unreadable image(s) and data.strict is set; the first: ", bad[0].error));
  }
  if (!bad.empty()) {
    warnings.push_back(
        absl::StrCat(bad.size(), " unreadable image(s) skipped; the first: ", bad[0].error));
    absl::FPrintF(
        out, "WARNING: %d unreadable image(s) skipped (listed in run_info.pbtxt); the first: %s\n",
        bad.size(), bad[0].error);
  }
  const std::vector<int> counts = source->dataset().CountPerClass();
  for (size_t c = 0; c < counts.size(); ++c) {
    if (counts[c] == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("class ", classes[c], " of ", resolved->path, " has no readable images"));
    }
  }
  absl::StatusOr<data::Split> made = MakeSplit(config, source->dataset());
  if (!made.ok()) return made.status();
  const data::Split& split = *made;
  if (split.train.size() < static_cast<size_t>(config.data().batch_size()) || split.valid.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("data: ", split.train.size(), " training and ", split.valid.size(),
                     " validation images; training needs at least one batch (data.batch_size=",
                     config.data().batch_size(), ") and validation at least one image"));
  }

  // The model, with torchvision's ImageNet weights for its body when they are there.
  torch::manual_seed(config.seed());
  absl::StatusOr<models::Classifier> model =
      models::BuildClassifier(config.model(), static_cast<int>(classes.size()));
  if (!model.ok()) return model.status();
  std::string weights_note = "none configured: random initialisation";
  if (const std::string& weights = config.model().pretrained_weights(); !weights.empty()) {
    if (!util::PathExists(weights)) {
      const std::string message = absl::StrCat(
          "model.pretrained_weights: ", weights,
          " does not exist; training from random initialisation instead (README.md says where "
          "torchvision's files come from)");
      LOG(WARNING) << message;
      absl::FPrintF(out, "\nWARNING: %s\n", message);
      weights_note = absl::StrCat("not found (", weights, "): random initialisation");
      warnings.push_back(message);
    } else {
      if (absl::Status s = models::LoadTorchvisionWeights(weights, *(*model)->body); !s.ok()) {
        return absl::Status(s.code(), absl::StrCat("model.pretrained_weights: ", s.message()));
      }
      weights_note = absl::StrCat("loaded ", weights, " into the body (its fc layer dropped)");
      absl::FPrintF(out, "Loaded ImageNet weights for the %s body from %s\n",
                    config.model().architecture(), weights);
    }
  }

  // 3. The run directory: from here on, everything is recorded.
  absl::StatusOr<RunDirectory> run = RunDirectory::Create(runs_root, config.name());
  if (!run.ok()) return run.status();
  RunInfo info;
  info.set_experiment(config.name());
  info.set_run_id(run->id());
  info.set_status(RunInfo::RUNNING);
  info.set_start_time(IsoTime(start_time));
  info.set_config_file(util::ResolveUserPath(options.config_path));
  for (const std::string& o : options.overrides) info.add_overrides(o);
  for (const std::string& a : options.command_line) info.add_command_line(a);
  const Provenance provenance = GatherProvenance(workspace);
  info.set_git_commit(provenance.git_commit);
  info.set_git_dirty(provenance.git_dirty);
  info.set_host(provenance.host);
  info.set_user(provenance.user);
  info.set_libtorch_version(TORCH_VERSION);
  info.set_device(device->str());
  info.set_threads(threads);
  DatasetInfo* di = info.mutable_dataset();
  di->set_kind(resolved->kind);
  di->set_path(resolved->path);
  for (size_t c = 0; c < classes.size(); ++c) {
    di->add_classes(classes[c]);
    di->add_images_per_class(counts[c]);
  }
  di->set_fingerprint(data::Fingerprint(source->dataset()));
  di->set_train_images(split.train.size());
  di->set_valid_images(split.valid.size());
  di->set_unreadable_images(bad.size());
  for (size_t b = 0; b < bad.size() && b < 100; ++b) di->add_unreadable_files(bad[b].error);
  di->set_ignored_files(scanned->ignored_files);
  for (const std::string& w : warnings) info.add_warnings(w);
  info.set_pretrained_weights(weights_note);

  absl::Status written = run->WriteProto("config.pbtxt", config);
  if (written.ok()) written = run->WriteProto("run_info.pbtxt", info);
  if (written.ok())
    written = run->WriteFile("split/train.txt", data::SplitListing(source->dataset(), split.train));
  if (written.ok())
    written = run->WriteFile("split/valid.txt", data::SplitListing(source->dataset(), split.valid));
  if (!written.ok()) return written;

  absl::FPrintF(
      out, "Run %s\n  %d images (%s), %d training, %d validation; %s, %d threads, LibTorch %s\n",
      run->path(), source->dataset().examples.size(), absl::StrJoin(classes, "/"),
      split.train.size(), split.valid.size(), device->str(), threads, TORCH_VERSION);

  absl::Status trained;
  try {
    trained = Train(config, *run, &info, *model, source, split, positive, *device, out);
  } catch (const c10::Error& e) {
    trained = absl::InternalError(absl::StrCat("LibTorch: ", e.what_without_backtrace()));
  } catch (const std::exception& e) {
    trained = absl::InternalError(e.what());
  }

  info.set_end_time(IsoTime(std::time(nullptr)));
  info.set_duration_seconds(std::chrono::duration<double>(Clock::now() - started).count());
  if (trained.ok()) {
    info.set_status(RunInfo::COMPLETED);
  } else if (absl::IsCancelled(trained)) {
    info.set_status(RunInfo::INTERRUPTED);
    info.set_reason(std::string(trained.message()));
  } else {
    info.set_status(RunInfo::FAILED);
    info.set_reason(trained.ToString());
  }
  if (absl::Status s = run->WriteProto("run_info.pbtxt", info); !s.ok()) {
    LOG(ERROR) << "cannot record the run's end: " << s;
  }
  RunResult result;
  result.run_dir = run->path();
  result.info = std::move(info);
  result.config = std::move(config);
  return result;
}

}  // namespace malaria::experiments
