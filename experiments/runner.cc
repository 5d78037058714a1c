#include "experiments/runner.h"

#include <ATen/Parallel.h>
#include <signal.h>
#include <torch/cuda.h>
#include <torch/utils.h>
#include <torch/version.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "data/dataset.h"
#include "data/image_io.h"
#include "data/loader.h"
#include "data/split.h"
#include "data/synthetic.h"
#include "evaluation/metrics.h"
#include "evaluation/pictures.h"
#include "evaluation/plot.h"
#include "evaluation/report_writer.h"
#include "experiments/config.h"
#include "experiments/metrics_table.h"
#include "experiments/tracker.h"
#include "experiments/trained_model.h"
#include "glog/logging.h"
#include "models/classifier.h"
#include "models/pretrained.h"
#include "base/files.h"
#include "training/checkpoint.h"
#include "training/distributed.h"
#include "training/learner.h"
#include "training/progress.h"
#include "training/schedule.h"

namespace malaria::experiments {
namespace {

using Clock = std::chrono::steady_clock;

int HardwareThreads() { return std::max(1u, std::thread::hardware_concurrency()); }

// The cores this process may use: all of them, shared among the processes of a data-parallel
// job on this machine.
int CoresPerProcess(const training::Distributed* dist) {
  return std::max(1, HardwareThreads() / (dist != nullptr ? dist->local_world_size() : 1));
}

bool IsPrimary(const training::Distributed* dist) { return dist == nullptr || dist->is_primary(); }

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

// Paths in configs are relative to the workspace (the folder holding WORKSPACE).
std::string InWorkspace(const std::string& workspace, const std::string& path) {
  return std::filesystem::path(base::JoinPath(workspace, path)).lexically_normal().string();
}

data::SyntheticOptions SyntheticOptionsOf(const ExperimentConfig& config) {
  const data::SyntheticFallback& f = config.data().synthetic_fallback();
  data::SyntheticOptions options;
  options.num_images = f.num_images();
  options.image_size = f.source_size();
  options.hard_negative_fraction = f.hard_negative_fraction();
  options.num_patients = f.num_patients();
  options.difficulty = f.difficulty();
  options.seed = config.seed();
  return options;
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
    if (!base::IsDirectory(r.path)) {
      return absl::NotFoundError(
          absl::StrCat("data.path: data folder ", r.path, " does not exist"));
    }
    return r;
  }
  if (const std::string env = Env("MALARIA_DATA"); !env.empty()) {
    r.path = base::ResolveUserPath(env);
    r.source = "$MALARIA_DATA";
    if (!base::IsDirectory(r.path)) {
      return absl::NotFoundError(
          absl::StrCat("$MALARIA_DATA: data folder ", r.path, " does not exist"));
    }
    return r;
  }
  const std::string local = base::JoinPath(workspace, "data/nih_malaria/cell_images");
  if (base::IsDirectory(local)) {
    r.path = local;
    r.source = "the workspace";
    return r;
  }
  absl::StatusOr<std::string> dir = data::EnsureSyntheticDataset(
      base::JoinPath(workspace, "data/cache"), SyntheticOptionsOf(config));
  if (!dir.ok()) return dir.status();
  r.path = *dir;
  r.kind = DatasetInfo::SYNTHETIC;
  r.source = "the embedded synthetic default";
  return r;
}

std::string RunsRoot(const RunOptions& options, const ExperimentConfig& config,
                     const std::string& workspace) {
  if (!options.runs_dir.empty()) return base::ResolveUserPath(options.runs_dir);
  if (const std::string env = Env("MALARIA_RUNS_DIR"); !env.empty()) {
    return base::ResolveUserPath(env);
  }
  if (!config.tracker().root().empty()) return InWorkspace(workspace, config.tracker().root());
  return base::JoinPath(workspace, "runs");
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

// Everything a run needs that can be checked before its directory is made (or reopened).
struct Prepared {
  ExperimentConfig config;
  ResolvedData data;
  std::vector<std::string> warnings;
  int threads = 1;
  torch::Device device = torch::kCPU;
  std::vector<std::string> classes;
  int positive = 0;
  int ignored_files = 0;
  std::vector<data::BadImage> bad;
  std::shared_ptr<data::ImageSource> source;
  data::Split split;
  models::Classifier model{nullptr};
  std::string weights_note;
  training::Distributed* dist = nullptr;  // data-parallel job, or nullptr
};

absl::StatusOr<Prepared> Prepare(ExperimentConfig config, ResolvedData resolved,
                                 std::vector<std::string> warnings, training::Distributed* dist,
                                 std::FILE* out) {
  Prepared p;
  p.dist = dist;
  p.threads = config.training().threads() > 0 ? config.training().threads() : CoresPerProcess(dist);
  at::set_num_threads(p.threads);
  absl::StatusOr<torch::Device> device = training::ResolveDevice(config.training().device());
  if (!device.ok()) return device.status();
  p.device = *device;
  if (dist != nullptr) {
    // Each process of a machine takes its own GPU; Gloo or NCCL carries the CUDA tensors.
    if (p.device.is_cuda()) {
      p.device = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(
                                                 dist->local_rank() % torch::cuda::device_count()));
    }
    const training::DistributedConfig::Backend backend = config.training().distributed().backend();
    const absl::Status joined = dist->UseDevice(
        p.device, backend == training::DistributedConfig::NCCL   ? training::Backend::kNccl
                  : backend == training::DistributedConfig::GLOO ? training::Backend::kGloo
                                                                 : training::Backend::kAuto);
    if (!joined.ok()) {
      return absl::Status(joined.code(),
                          absl::StrCat("training.distributed.backend: ", joined.message()));
    }
  }
  if (config.training().precision() != training::FLOAT32 && !p.device.is_cuda()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "training.precision: ", training::Precision_Name(config.training().precision()),
        " is CUDA mixed precision; this run uses ", p.device.str(), " (use FLOAT32)"));
  }

  absl::FPrintF(out, "Experiment %s: reading %s (%s)\n", config.name(), resolved.path,
                resolved.source);
  absl::StatusOr<data::Dataset> scanned = data::ScanImageFolder(resolved.path);
  if (!scanned.ok()) return scanned.status();
  p.classes = scanned->classes;
  p.ignored_files = scanned->ignored_files;
  const auto positive =
      std::find(p.classes.begin(), p.classes.end(), config.evaluation().positive_class());
  if (positive == p.classes.end()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "evaluation.positive_class: '", config.evaluation().positive_class(),
        "' is not a class of ", resolved.path, " (classes: ", absl::StrJoin(p.classes, ", "), ")"));
  }
  p.positive = static_cast<int>(positive - p.classes.begin());
  const data::Dataset dataset = data::SubsetOf(
      *scanned, data::StratifiedSubset(*scanned, config.data().max_images(), config.seed()));

  // Decode everything once (the cache), finding unreadable files before anything trains.
  p.source = std::make_shared<data::ImageSource>(data::ImageSource::Load(
      dataset, config.data().image_size(),
      config.data().loader_threads() > 0 ? config.data().loader_threads() : CoresPerProcess(dist),
      static_cast<int64_t>(config.data().cache_mib()) << 20, &p.bad));
  for (const data::BadImage& b : p.bad) LOG(WARNING) << "skipping unreadable image: " << b.error;
  if (!p.bad.empty() && config.data().strict()) {
    return absl::DataLossError(absl::StrCat(
        p.bad.size(), " unreadable image(s) and data.strict is set; the first: ", p.bad[0].error));
  }
  if (!p.bad.empty()) {
    warnings.push_back(
        absl::StrCat(p.bad.size(), " unreadable image(s) skipped; the first: ", p.bad[0].error));
    absl::FPrintF(
        out, "WARNING: %d unreadable image(s) skipped (listed in run_info.pbtxt); the first: %s\n",
        p.bad.size(), p.bad[0].error);
  }
  const std::vector<int> counts = p.source->dataset().CountPerClass();
  for (size_t c = 0; c < counts.size(); ++c) {
    if (counts[c] == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("class ", p.classes[c], " of ", resolved.path, " has no readable images"));
    }
  }
  absl::StatusOr<data::Split> split = MakeSplit(config, p.source->dataset());
  if (!split.ok()) return split.status();
  p.split = *std::move(split);
  if (p.split.train.size() < static_cast<size_t>(config.data().batch_size()) ||
      p.split.valid.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("data: ", p.split.train.size(), " training and ", p.split.valid.size(),
                     " validation images; training needs at least one batch (data.batch_size=",
                     config.data().batch_size(), ") and validation at least one image"));
  }

  // The model, with torchvision's ImageNet weights for its body when they are there.
  torch::manual_seed(config.seed());
  absl::StatusOr<models::Classifier> model =
      models::BuildClassifier(config.model(), static_cast<int>(p.classes.size()));
  if (!model.ok()) return model.status();
  p.model = *model;
  p.weights_note = "none configured: random initialisation";
  if (const std::string& weights = config.model().pretrained_weights(); !weights.empty()) {
    if (!base::PathExists(weights)) {
      const std::string message = absl::StrCat(
          "model.pretrained_weights: ", weights,
          " does not exist; training from random initialisation instead (README.md says where "
          "torchvision's files come from)");
      LOG(WARNING) << message;
      absl::FPrintF(out, "\nWARNING: %s\n", message);
      p.weights_note = absl::StrCat("not found (", weights, "): random initialisation");
      warnings.push_back(message);
    } else {
      if (absl::Status s = models::LoadTorchvisionWeights(weights, *p.model->body); !s.ok()) {
        return absl::Status(s.code(), absl::StrCat("model.pretrained_weights: ", s.message()));
      }
      p.weights_note = absl::StrCat("loaded ", weights, " into the body (its fc layer dropped)");
      absl::FPrintF(out, "Loaded ImageNet weights for the %s body from %s\n",
                    config.model().architecture(), weights);
    }
  }
  p.config = std::move(config);
  p.data = std::move(resolved);
  p.warnings = std::move(warnings);
  return p;
}

// Writes each epoch to metrics.csv and run_info.pbtxt as it finishes, and shows the table.
class RunRecorder : public training::TrainingCallback {
 public:
  RunRecorder(const RunDirectory& run, RunInfo* info, MetricsTable* table,
              training::ProgressPrinter* printer, const std::vector<std::string>& classes,
              int positive, const data::Dataset& dataset,
              const evaluation::EvaluationConfig& config)
      : run_(run),
        info_(info),
        table_(table),
        printer_(printer),
        classes_(classes),
        positive_(positive),
        dataset_(dataset),
        config_(config) {}

  void OnBatchEnd(const training::BatchProgress& p) override { printer_->OnBatchEnd(p); }

  absl::Status OnEpochEnd(const training::EpochResult& r) override {
    (void)printer_->OnEpochEnd(r);
    const evaluation::ClassificationReport report =
        evaluation::Evaluate(ToPredictionSet(r.valid, dataset_), classes_, positive_, config_);
    EpochRow row;
    row.stage_index = r.stage_index;
    row.stage = r.stage;
    row.epoch = r.epoch;
    row.train_loss = r.train_loss;
    row.valid_loss = r.valid_loss;
    row.accuracy = r.accuracy;
    row.error_rate = r.error_rate;
    row.lr = r.lrs.back();
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
    table_->Add(row);
    if (absl::Status s = run_.WriteFile("metrics.csv", table_->ToCsv()); !s.ok()) return s;
    std::vector<evaluation::CurvePoint> points;
    for (const EpochRow& e : table_->rows()) {
      points.push_back({e.stage, e.epoch, e.train_loss, e.valid_loss, e.accuracy});
    }
    if (absl::Status s =
            data::WritePng(evaluation::LearningCurvesImage(points, info_->experiment()),
                           run_.File("learning_curves.png"));
        !s.ok()) {
      return s;
    }
    table_->Summarize(r.stage_index, info_->mutable_stage(r.stage_index));
    return run_.WriteProto("run_info.pbtxt", *info_);
  }

 private:
  const RunDirectory& run_;
  RunInfo* info_;
  MetricsTable* table_;
  training::ProgressPrinter* printer_;
  std::vector<std::string> classes_;
  int positive_;
  const data::Dataset& dataset_;
  evaluation::EvaluationConfig config_;
};

// The learning-rate finder's curve as CSV and as a plot, fastai style (loss against log LR,
// skipping the first 10 and last 5 points, the suggestion marked).
absl::Status WriteLrFinder(const RunDirectory& run, const std::string& stage,
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

// Where a resumed run continues: stage `stage`, after `epochs_completed` of its epochs (from
// `checkpoint`, that stage's _last.pt, when > 0).
struct ResumePoint {
  int stage = 0;
  int epochs_completed = 0;
  std::string checkpoint;
};

absl::StatusOr<ResumePoint> FindResumePoint(const ExperimentConfig& config,
                                            const RunDirectory& run) {
  ResumePoint point;
  const auto& stages = config.training().stage();
  for (int i = 0; i < stages.size(); ++i) {
    const std::string path = run.File(absl::StrCat("checkpoints/", stages[i].name(), "_last.pt"));
    if (!base::PathExists(path)) return point;
    absl::StatusOr<training::CheckpointInfo> info = training::ReadCheckpointInfo(path);
    if (!info.ok()) return info.status();
    point = {i, info->progress.epochs_completed, path};
    if (info->progress.epochs_completed < stages[i].epochs()) return point;
    point = {i + 1, 0, ""};
  }
  return point;
}

// Everything from the run directory's creation to the final evaluation. Errors are recorded by
// the caller.
absl::Status Train(const Prepared& p, const RunDirectory& run, RunInfo* info, MetricsTable* table,
                   const ResumePoint& resume, std::FILE* out) {
  const ExperimentConfig& config = p.config;
  const data::DataConfig& d = config.data();
  data::LoaderOptions valid_options;
  valid_options.batch_size = d.batch_size();
  valid_options.image_size = d.image_size();
  for (int c = 0; c < 3; ++c) {
    valid_options.mean[c] = d.normalization().mean(c);
    valid_options.std[c] = d.normalization().std(c);
  }
  valid_options.threads = d.loader_threads() > 0 ? d.loader_threads() : CoresPerProcess(p.dist);
  const bool primary = IsPrimary(p.dist);
  if (p.dist != nullptr) {
    valid_options.rank = p.dist->rank();
    valid_options.world_size = p.dist->world_size();
  }
  valid_options.prefetch = d.prefetch_batches();
  valid_options.seed = config.seed();
  data::LoaderOptions train_options = valid_options;
  train_options.shuffle = true;
  train_options.drop_last = true;
  train_options.augment = d.augmentation().enabled();
  train_options.augmentation = d.augmentation();
  data::BatchLoader train_loader(p.source, p.split.train, train_options);
  data::BatchLoader valid_loader(p.source, p.split.valid, valid_options);

  training::Learner::Options learner_options;
  learner_options.device = p.device;
  learner_options.seed = config.seed();
  learner_options.monitor = config.training().monitor();
  const std::string checkpoint_dir = run.File("checkpoints");
  if (primary) learner_options.checkpoint_dir = checkpoint_dir;  // rank 0 saves them
  learner_options.config_text = ToText(config);
  learner_options.precision = config.training().precision();
  learner_options.channels_last = config.training().channels_last();
  learner_options.distributed = p.dist;
  learner_options.sync_batchnorm = config.training().distributed().sync_batchnorm();
  learner_options.bucket_bytes = int64_t{config.training().distributed().bucket_mib()} << 20;
  if (primary) {
    if (absl::Status s = base::MakeDirs(checkpoint_dir); !s.ok()) return s;
  }
  training::Learner learner(p.model, &train_loader, &valid_loader, learner_options);
  training::ProgressPrinter printer(out);
  RunRecorder recorder(run, info, table, &printer, p.classes, p.positive, p.source->dataset(),
                       config.evaluation());
  // The other ranks only show their progress (in their log).
  training::TrainingCallback* callback =
      primary ? static_cast<training::TrainingCallback*>(&recorder) : &printer;
  auto checkpoint = [&](const std::string& stage, const char* which) {
    return base::JoinPath(checkpoint_dir, absl::StrCat(stage, "_", which, ".pt"));
  };

  // Validation predictions follow the validation split's order (that loader never shuffles).
  const evaluation::ImageOf image_of = [&](int i) { return p.source->Get(p.split.valid[i]); };
  const auto& stages = config.training().stage();
  for (int i = resume.stage; i < stages.size(); ++i) {
    const training::StageConfig& stage = stages[i];
    const bool continuing = i == resume.stage && resume.epochs_completed > 0;
    while (info->stage_size() <= i) {
      const int next = info->stage_size();
      info->add_stage()->set_name(stages[next].name());
    }
    StageSummary* summary = info->mutable_stage(i);

    // The weights this stage starts from: in memory when the previous stage just ran here. Other
    // ranks get rank 0's when the stage starts.
    if (primary && i > 0 && !continuing &&
        (stage.start_from() == training::StageConfig::PREVIOUS_BEST || i == resume.stage)) {
      const std::string from =
          checkpoint(stages[i - 1].name(),
                     stage.start_from() == training::StageConfig::PREVIOUS_BEST ? "best" : "last");
      if (absl::Status s = training::LoadCheckpoint(from, learner.model()).status(); !s.ok())
        return s;
      absl::FPrintF(out, "\n%s starts from %s\n", stage.name(), from);
    }

    if ((stage.lr_find() || stage.lr().has_auto_()) &&
        !(continuing && summary->has_lr_finder_suggestion())) {
      absl::FPrintF(out, "\n%s: learning-rate finder (%g to %g over %d iterations)\n", stage.name(),
                    stage.lr_finder().start_lr(), stage.lr_finder().end_lr(),
                    stage.lr_finder().num_iterations());
      absl::StatusOr<training::LrFinderResult> found = learner.FindLr(stage, i);
      if (!found.ok()) return found.status();
      const double suggestion =
          stage.lr_finder().suggestion() == training::LrFinderConfig::MINIMUM_DIV_10
              ? found->suggestion_min_div_10
              : found->suggestion_steepest;
      summary->set_lr_finder_suggestion(suggestion);
      if (primary) {
        if (absl::Status s = WriteLrFinder(run, stage.name(), *found, suggestion); !s.ok())
          return s;
      }
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
    summary->clear_max_lr();
    for (double lr : lrs) summary->add_max_lr(lr);
    if (primary) {
      if (absl::Status s = run.WriteProto("run_info.pbtxt", *info); !s.ok()) return s;
    }

    printer.StageHeader(absl::StrFormat(
        "%s: %d epochs, freeze_to %d%s, max lr per layer group [%s]%s", stage.name(),
        stage.epochs(), stage.freeze_to(),
        stage.freeze_to() != 0 && stage.train_bn() ? " (BatchNorm trains)" : "", FormatLrs(lrs),
        continuing ? absl::StrFormat(", resumed after epoch %d", resume.epochs_completed) : ""));
    absl::StatusOr<training::StageResult> result =
        learner.Fit(stage, i, lrs, callback, continuing ? resume.checkpoint : "");
    if (!result.ok()) return result.status();
    // The stage's model (its last epoch) judged on the validation set, with pictures.
    if (primary && !result->epochs.empty()) {
      absl::StatusOr<evaluation::ClassificationReport> report =
          evaluation::WriteReport(run.File(absl::StrCat("evaluation/", stage.name())),
                                  ToPredictionSet(result->epochs.back().valid, p.source->dataset()),
                                  p.classes, p.positive, config.evaluation(), image_of);
      if (!report.ok()) return report.status();
    }
  }

  if (!primary) return absl::OkStatus();  // rank 0 evaluates

  // Final evaluation on the validation set.
  const std::string& last_stage = stages[stages.size() - 1].name();
  std::string which = "the last epoch";
  if (config.evaluation().final_model() == evaluation::EvaluationConfig::BEST) {
    if (absl::Status s =
            training::LoadCheckpoint(checkpoint(last_stage, "best"), learner.model()).status();
        !s.ok()) {
      return s;
    }
    which = absl::StrCat("the best epoch of ", last_stage);
  } else if (resume.stage >= stages.size()) {
    // Every epoch was done before the resume: the model in memory is not the trained one.
    if (absl::Status s =
            training::LoadCheckpoint(checkpoint(last_stage, "last"), learner.model()).status();
        !s.ok()) {
      return s;
    }
  }
  // All of the validation set, here (the loader above serves this rank's share).
  data::LoaderOptions all_options = valid_options;
  all_options.rank = 0;
  all_options.world_size = 1;
  data::BatchLoader all_valid(p.source, p.split.valid, all_options);
  absl::StatusOr<training::Predictions> predictions = learner.Predict(&all_valid);
  if (!predictions.ok()) return predictions.status();
  absl::StatusOr<evaluation::ClassificationReport> final_report =
      evaluation::WriteReport(run.path(), ToPredictionSet(*predictions, p.source->dataset()),
                              p.classes, p.positive, config.evaluation(), image_of);
  if (!final_report.ok()) return final_report.status();
  const evaluation::ClassificationReport& report = *final_report;
  absl::FPrintF(out,
                "\nFinal model (%s) on %d validation images: accuracy %.4f, sensitivity %.4f, "
                "specificity %.4f, ROC AUC %.4f, %d false negatives, %d false positives\n"
                "Confusion matrix (rows actual, columns predicted):\n%s",
                which, report.examples(), report.accuracy(), report.sensitivity(),
                report.specificity(), report.roc_auc(), report.false_negatives(),
                report.false_positives(), evaluation::ConfusionMatrixCsv(report));
  return absl::OkStatus();
}

// Runs Train and records how it ended.
RunResult Execute(Prepared& p, const RunDirectory& run, RunInfo info, MetricsTable table,
                  const ResumePoint& resume, Clock::time_point started, std::FILE* out) {
  absl::Status trained;
  try {
    trained = Train(p, run, &info, &table, resume, out);
  } catch (const c10::Error& e) {
    trained = absl::InternalError(absl::StrCat("LibTorch: ", e.what_without_backtrace()));
  } catch (const std::exception& e) {
    trained = absl::InternalError(e.what());
  }
  info.set_end_time(IsoTime(std::time(nullptr)));
  info.set_duration_seconds(info.duration_seconds() +
                            std::chrono::duration<double>(Clock::now() - started).count());
  if (trained.ok()) {
    info.set_status(RunInfo::COMPLETED);
  } else if (absl::IsCancelled(trained)) {
    info.set_status(RunInfo::INTERRUPTED);
    info.set_reason(std::string(trained.message()));
  } else {
    info.set_status(RunInfo::FAILED);
    info.set_reason(trained.ToString());
  }
  if (!IsPrimary(p.dist)) {
    absl::FPrintF(out, "\nrank %d: %s%s\n", p.dist->rank(), RunInfo::Status_Name(info.status()),
                  info.reason().empty() ? "" : ": " + info.reason());
  } else if (absl::Status s = run.WriteProto("run_info.pbtxt", info); !s.ok()) {
    LOG(ERROR) << "cannot record the run's end: " << s;
  }
  RunResult result;
  result.run_dir = run.path();
  result.info = std::move(info);
  result.config = std::move(p.config);
  return result;
}

void DescribeData(const Prepared& p, RunInfo* info) {
  DatasetInfo* di = info->mutable_dataset();
  di->Clear();
  di->set_kind(p.data.kind);
  di->set_path(p.data.path);
  const std::vector<int> counts = p.source->dataset().CountPerClass();
  for (size_t c = 0; c < p.classes.size(); ++c) {
    di->add_classes(p.classes[c]);
    di->add_images_per_class(counts[c]);
  }
  di->set_fingerprint(data::Fingerprint(p.source->dataset()));
  di->set_train_images(p.split.train.size());
  di->set_valid_images(p.split.valid.size());
  di->set_unreadable_images(p.bad.size());
  for (size_t b = 0; b < p.bad.size() && b < 100; ++b) di->add_unreadable_files(p.bad[b].error);
  di->set_ignored_files(p.ignored_files);
}

void PrintRunHeader(const Prepared& p, const RunDirectory& run, std::FILE* out) {
  absl::FPrintF(
      out, "Run %s\n  %d images (%s), %d training, %d validation; %s, %d threads, LibTorch %s\n",
      run.path(), p.source->dataset().examples.size(), absl::StrJoin(p.classes, "/"),
      p.split.train.size(), p.split.valid.size(), p.device.str(), p.threads, TORCH_VERSION);
  if (p.dist != nullptr) {
    absl::FPrintF(out, "  data-parallel: %d processes, %s for %s tensors\n", p.dist->world_size(),
                  p.dist->device_backend(), p.device.is_cuda() ? "CUDA" : "CPU");
  }
}

// Ranks other than 0 of a data-parallel job: train in the run directory rank 0 made (and published
// in the store), logging to logs/rank<R>.log; rank 0 records everything else.
absl::StatusOr<RunResult> JoinRun(Prepared& p, const std::string& dir, const ResumePoint& resume,
                                  Clock::time_point started) {
  const RunDirectory run = RunDirectory::Open(dir);
  const std::string log = run.File(absl::StrCat("logs/rank", p.dist->rank(), ".log"));
  std::FILE* out = std::fopen(log.c_str(), "a");
  if (out == nullptr) {
    return absl::PermissionDeniedError(
        absl::StrCat("rank ", p.dist->rank(), ": cannot write ", log));
  }
  absl::FPrintF(out, "rank %d of %d, pid %d, run %s\n", p.dist->rank(), p.dist->world_size(),
                ::getpid(), dir);
  // Rank 0's record (its stage summaries say, for one, whether a resumed stage's learning-rate
  // finder already ran), so every rank takes the same steps.
  absl::StatusOr<RunInfo> info = ReadRunInfo(run);
  if (!info.ok()) {
    std::fclose(out);
    return info.status();
  }
  RunResult result = Execute(p, run, *std::move(info), MetricsTable(), resume, started, out);
  std::fclose(out);
  return result;
}

// Rank 0 of a data-parallel job: the others may now join `run`.
absl::Status Publish(const Prepared& p, const RunDirectory& run) {
  if (p.dist == nullptr) return absl::OkStatus();
  if (absl::Status s = base::MakeDirs(run.File("logs")); !s.ok()) return s;
  p.dist->SetKey("run_dir", run.path());
  return absl::OkStatus();
}

// A fresh run: config from its file and overrides.
absl::StatusOr<RunResult> StartRun(const RunOptions& options, const std::string& workspace) {
  const auto started = Clock::now();
  const std::time_t start_time = std::time(nullptr);
  std::FILE* out = options.out;

  absl::StatusOr<ExperimentConfig> loaded = LoadExperimentConfig(options.config_path);
  if (!loaded.ok()) return loaded.status();
  ExperimentConfig config = *std::move(loaded);
  for (const std::string& o : options.overrides) {
    if (absl::Status s = ApplyOverride(o, &config); !s.ok()) return s;
  }
  FillDefaults(&config);
  if (absl::Status s = ValidateExperimentConfig(config); !s.ok()) return s;

  // Rank 0 finds (or makes) the data first, so processes on one machine never make it together.
  training::Distributed* dist = options.distributed;
  if (!IsPrimary(dist)) dist->Barrier("waiting for rank 0 to find the data");
  absl::StatusOr<ResolvedData> resolved = ResolveData(config, workspace);
  if (!resolved.ok()) return resolved.status();
  if (dist != nullptr && dist->is_primary()) dist->Barrier("waiting for the other ranks");
  std::vector<std::string> warnings;
  if (resolved->kind == DatasetInfo::SYNTHETIC) {
    const data::SyntheticFallback& f = config.data().synthetic_fallback();
    config.mutable_data()->set_image_size(f.image_size());
    config.mutable_data()->set_max_images(0);
    warnings.push_back(absl::StrCat(
        "No dataset found (data.path unset, $MALARIA_DATA unset, no data/nih_malaria/cell_images "
        "in the workspace): training on the SYNTHETIC dataset in ",
        resolved->path,
        " instead. Its numbers say nothing about malaria. Fallback settings applied: ",
        f.num_images(), " images of ", f.source_size(), " px, data.image_size=", f.image_size(),
        "."));
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

  absl::StatusOr<Prepared> prepared =
      Prepare(std::move(config), *std::move(resolved), std::move(warnings), dist, out);
  if (!prepared.ok()) return prepared.status();
  Prepared& p = *prepared;
  if (!IsPrimary(dist)) return JoinRun(p, dist->GetKey("run_dir"), ResumePoint(), started);

  // The run directory: from here on, everything is recorded.
  absl::StatusOr<RunDirectory> run = RunDirectory::Create(runs_root, p.config.name());
  if (!run.ok()) return run.status();
  RunInfo info;
  info.set_experiment(p.config.name());
  info.set_run_id(run->id());
  info.set_status(RunInfo::RUNNING);
  info.set_start_time(IsoTime(start_time));
  info.set_config_file(base::ResolveUserPath(options.config_path));
  for (const std::string& o : options.overrides) info.add_overrides(o);
  for (const std::string& a : options.command_line) info.add_command_line(a);
  const Provenance provenance = GatherProvenance(workspace);
  info.set_git_commit(provenance.git_commit);
  info.set_git_dirty(provenance.git_dirty);
  info.set_host(provenance.host);
  info.set_user(provenance.user);
  info.set_pid(::getpid());
  info.set_libtorch_version(TORCH_VERSION);
  info.set_device(p.device.str());
  info.set_threads(p.threads);
  info.set_world_size(dist != nullptr ? dist->world_size() : 1);
  DescribeData(p, &info);
  for (const std::string& w : p.warnings) info.add_warnings(w);
  info.set_pretrained_weights(p.weights_note);

  absl::Status written = run->WriteProto("config.pbtxt", p.config);
  if (written.ok()) written = run->WriteProto("run_info.pbtxt", info);
  if (written.ok()) {
    written =
        run->WriteFile("split/train.txt", data::SplitListing(p.source->dataset(), p.split.train));
  }
  if (written.ok()) {
    written =
        run->WriteFile("split/valid.txt", data::SplitListing(p.source->dataset(), p.split.valid));
  }
  if (written.ok()) written = Publish(p, *run);
  if (!written.ok()) return written;
  PrintRunHeader(p, *run, out);
  return Execute(p, *run, std::move(info), MetricsTable(), ResumePoint(), started, out);
}

bool ProcessAlive(int64_t pid) {
  return pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
}

// A resumed run: config, data and progress from its directory.
absl::StatusOr<RunResult> ResumeRun(const RunOptions& options, const std::string& workspace) {
  const auto started = Clock::now();
  std::FILE* out = options.out;
  if (!options.overrides.empty()) {
    return absl::InvalidArgumentError(
        "--resume continues a run as it was configured; it takes no --set overrides");
  }
  const std::string dir = base::ResolveUserPath(options.resume_dir);
  // The other ranks read the run once rank 0 has checked it and recorded the resume.
  training::Distributed* dist = options.distributed;
  const bool primary = IsPrimary(dist);
  if (!primary && dist->GetKey("run_dir") != dir) {
    return absl::InvalidArgumentError(
        absl::StrCat("rank ", dist->rank(), ": --resume ", dir, " is not the run rank 0 resumes"));
  }
  if (!base::IsDirectory(dir)) {
    return absl::NotFoundError(absl::StrCat("--resume: run directory ", dir, " does not exist"));
  }
  const RunDirectory run = RunDirectory::Open(dir);
  absl::StatusOr<RunInfo> read = ReadRunInfo(run);
  if (!read.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--resume: ", dir,
                                                   " is not a run directory (no readable "
                                                   "run_info.pbtxt): ",
                                                   read.status().message()));
  }
  RunInfo info = *std::move(read);
  const Provenance here = GatherProvenance(workspace);
  switch (info.status()) {
    case RunInfo::COMPLETED:
      return absl::FailedPreconditionError(
          absl::StrCat("--resume: ", dir, " is COMPLETED; there is nothing to resume"));
    case RunInfo::RUNNING:
      if (primary && info.host() == here.host && ProcessAlive(info.pid())) {
        return absl::FailedPreconditionError(absl::StrCat(
            "--resume: ", dir, " is still RUNNING as process ", info.pid(), " on ", info.host()));
      }
      break;  // a run whose process died without recording it
    default:
      break;
  }
  absl::StatusOr<ExperimentConfig> config = LoadExperimentConfig(run.File("config.pbtxt"));
  if (!config.ok()) return config.status();
  if (!options.config_path.empty()) {
    absl::StatusOr<ExperimentConfig> target = LoadExperimentConfig(options.config_path);
    if (target.ok() && target->name() != config->name()) {
      return absl::InvalidArgumentError(absl::StrCat("--resume: ", dir, " is a run of ",
                                                     config->name(), ", not of ", target->name()));
    }
  }
  if (absl::Status s = ValidateExperimentConfig(*config); !s.ok()) return s;

  ResolvedData resolved;
  resolved.path = config->data().path();
  resolved.kind = info.dataset().kind();
  resolved.source = "the run's config";
  if (!base::IsDirectory(resolved.path)) {
    if (resolved.kind != DatasetInfo::SYNTHETIC) {
      return absl::NotFoundError(absl::StrCat("--resume: the run's data folder ", resolved.path,
                                              " does not exist any more"));
    }
    // The synthetic default is deterministic: make it again.
    absl::StatusOr<std::string> made = data::EnsureSyntheticDataset(
        std::filesystem::path(resolved.path).parent_path().string(), SyntheticOptionsOf(*config));
    if (!made.ok()) return made.status();
    if (*made != resolved.path) {
      return absl::FailedPreconditionError(absl::StrCat(
          "--resume: the synthetic dataset would be made in ", *made, ", not ", resolved.path));
    }
  }
  absl::StatusOr<Prepared> prepared = Prepare(*std::move(config), resolved, {}, dist, out);
  if (!prepared.ok()) return prepared.status();
  Prepared& p = *prepared;

  // The same data and the same split, or the resumed run would not be the same run.
  const std::string fingerprint = data::Fingerprint(p.source->dataset());
  if (fingerprint != info.dataset().fingerprint()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--resume: the data in ", resolved.path, " changed since the run started (fingerprint ",
        info.dataset().fingerprint(), ", now ", fingerprint, ")"));
  }
  const absl::StatusOr<std::string> train_listing = base::ReadFile(run.File("split/train.txt"));
  if (!train_listing.ok() ||
      *train_listing != data::SplitListing(p.source->dataset(), p.split.train)) {
    return absl::FailedPreconditionError(
        absl::StrCat("--resume: the split no longer matches ", run.File("split/train.txt")));
  }

  absl::StatusOr<ResumePoint> resume = FindResumePoint(p.config, run);
  if (!resume.ok()) return resume.status();
  if (!primary) return JoinRun(p, dir, *resume, started);
  std::vector<std::string> stage_names;
  for (const auto& s : p.config.training().stage()) stage_names.push_back(s.name());
  MetricsTable table;
  if (const absl::StatusOr<std::string> csv = base::ReadFile(run.File("metrics.csv")); csv.ok()) {
    absl::StatusOr<MetricsTable> parsed = MetricsTable::FromCsv(*csv, stage_names);
    if (!parsed.ok()) {
      return absl::DataLossError(
          absl::StrCat("--resume: ", run.File("metrics.csv"), ": ", parsed.status().message()));
    }
    table = *std::move(parsed);
  }
  // Epochs after the checkpoint are redone; their rows and summaries go.
  table.TrimTo(resume->stage, resume->epochs_completed);
  const int keep =
      std::min(info.stage_size(), resume->stage + (resume->epochs_completed > 0 ? 1 : 0));
  info.mutable_stage()->DeleteSubrange(keep, info.stage_size() - keep);
  for (int i = 0; i < info.stage_size(); ++i) table.Summarize(i, info.mutable_stage(i));

  info.set_status(RunInfo::RUNNING);
  info.clear_reason();
  info.clear_end_time();
  info.set_pid(::getpid());
  info.set_host(here.host);
  info.add_resumed_at(IsoTime(std::time(nullptr)));
  info.set_world_size(dist != nullptr ? dist->world_size() : 1);
  if (absl::Status s = run.WriteProto("run_info.pbtxt", info); !s.ok()) return s;
  if (absl::Status s = run.WriteFile("metrics.csv", table.ToCsv()); !s.ok()) return s;
  if (absl::Status s = Publish(p, run); !s.ok()) return s;
  PrintRunHeader(p, run, out);
  if (resume->stage < p.config.training().stage_size()) {
    absl::FPrintF(out, "Resuming %s after %d completed epoch(s) of stage %s\n", dir,
                  resume->epochs_completed, p.config.training().stage(resume->stage).name());
  } else {
    absl::FPrintF(out, "Every epoch of %s was done; finishing its evaluation\n", dir);
  }
  return Execute(p, run, std::move(info), std::move(table), *resume, started, out);
}

}  // namespace

std::string WorkspaceDir() {
  if (const std::string w = Env("BUILD_WORKSPACE_DIRECTORY"); !w.empty()) return w;
  std::error_code ec;
  return std::filesystem::current_path(ec).string();
}

absl::StatusOr<RunResult> RunExperiment(const RunOptions& options) {
  const std::string workspace = options.workspace.empty() ? WorkspaceDir() : options.workspace;
  try {
    if (!options.resume_dir.empty()) return ResumeRun(options, workspace);
    return StartRun(options, workspace);
  } catch (const std::runtime_error& e) {  // a data-parallel exchange before training failed
    return absl::UnavailableError(e.what());
  }
}

}  // namespace malaria::experiments
