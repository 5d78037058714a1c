#include "training/checkpoint.h"

#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <sstream>

#include "absl/strings/str_cat.h"
#include "base/files.h"
#include "training/training_config.pb.h"

namespace malaria::training {
namespace {

constexpr char kArchitecture[] = "malaria.architecture";
constexpr char kConfig[] = "malaria.config";
constexpr char kProgress[] = "malaria.progress";  // [stage, epochs, smooth_count, best_epoch]
constexpr char kProgressValues[] = "malaria.progress_values";  // [smooth_mov_avg, best_value]

}  // namespace

absl::Status SaveCheckpoint(const std::string& path, models::Classifier model,
                            const std::string& config_text,
                            const torch::optim::Optimizer* optimizer, const TrainingProgress& p,
                            models::Classifier raw_model) {
  std::ostringstream out;
  try {
    torch::serialize::OutputArchive archive;
    torch::serialize::OutputArchive model_archive;
    model->save(model_archive);
    archive.write("model", model_archive);
    if (!raw_model.is_empty()) {
      torch::serialize::OutputArchive raw_archive;
      raw_model->save(raw_archive);
      archive.write("raw_model", raw_archive);
    }
    if (optimizer != nullptr) {
      torch::serialize::OutputArchive optimizer_archive;
      optimizer->save(optimizer_archive);
      archive.write("optimizer", optimizer_archive);
    }
    archive.write(kArchitecture, c10::IValue(model->architecture()));
    archive.write(kConfig, c10::IValue(config_text));
    archive.write(kProgress, c10::IValue(std::vector<int64_t>{p.stage_index, p.epochs_completed,
                                                              p.smooth_count, p.best_epoch}));
    archive.write(kProgressValues,
                  c10::IValue(std::vector<double>{p.smooth_mov_avg, p.best_value}));
    archive.save_to(out);
  } catch (const c10::Error& e) {
    return absl::InternalError(
        absl::StrCat("cannot serialise checkpoint ", path, ": ", e.what_without_backtrace()));
  }
  return base::WriteFileAtomically(path, out.str());
}

namespace {

// Reads the records of `archive` into `info`; DataLoss when they are missing.
absl::Status ReadRecords(torch::serialize::InputArchive& archive, const std::string& path,
                         CheckpointInfo* info) {
  c10::IValue architecture, config, progress, values;
  if (!archive.try_read(kArchitecture, architecture) || !architecture.isString() ||
      !archive.try_read(kProgress, progress) || !archive.try_read(kProgressValues, values)) {
    return absl::DataLossError(
        absl::StrCat("checkpoint ", path, " is not a checkpoint of this platform (no records)"));
  }
  info->architecture = architecture.toStringRef();
  if (archive.try_read(kConfig, config) && config.isString())
    info->config_text = config.toStringRef();
  const std::vector<int64_t> ints = progress.toIntVector();
  const std::vector<double> doubles = values.toDoubleVector();
  if (ints.size() != 4 || doubles.size() != 2) {
    return absl::DataLossError(absl::StrCat("checkpoint ", path, ": malformed progress record"));
  }
  info->progress = {
      static_cast<int>(ints[0]), static_cast<int>(ints[1]), doubles[0], ints[2], doubles[1],
      static_cast<int>(ints[3])};
  torch::serialize::InputArchive optimizer_archive;
  info->has_optimizer = archive.try_read("optimizer", optimizer_archive);
  return absl::OkStatus();
}

// Opens `path` and reads its records into `info`; `then` may load more from the archive.
template <typename Then>
absl::StatusOr<CheckpointInfo> OpenCheckpoint(const std::string& path, Then then) {
  if (!base::PathExists(path)) {
    return absl::NotFoundError(absl::StrCat("checkpoint ", path, " does not exist"));
  }
  CheckpointInfo info;
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path);
    if (absl::Status s = ReadRecords(archive, path, &info); !s.ok()) return s;
    if (absl::Status s = then(archive, info); !s.ok()) return s;
  } catch (const c10::Error& e) {
    return absl::DataLossError(
        absl::StrCat("cannot load checkpoint ", path, ": ", e.what_without_backtrace()));
  }
  return info;
}

}  // namespace

absl::StatusOr<CheckpointInfo> ReadCheckpointInfo(const std::string& path) {
  return OpenCheckpoint(path, [](torch::serialize::InputArchive&, const CheckpointInfo&) {
    return absl::OkStatus();
  });
}

absl::StatusOr<CheckpointInfo> LoadCheckpoint(const std::string& path, models::Classifier model,
                                              torch::optim::Optimizer* optimizer,
                                              models::Classifier raw_model) {
  return OpenCheckpoint(
      path,
      [&](torch::serialize::InputArchive& archive, const CheckpointInfo& info) -> absl::Status {
        if (info.architecture != model->architecture()) {
          return absl::FailedPreconditionError(
              absl::StrCat("checkpoint ", path, " holds a ", info.architecture,
                           " model; it cannot be loaded into a ", model->architecture()));
        }
        torch::serialize::InputArchive model_archive;
        archive.read("model", model_archive);
        model->load(model_archive);
        if (!raw_model.is_empty()) {
          torch::serialize::InputArchive raw_archive;
          if (!archive.try_read("raw_model", raw_archive)) {
            return absl::FailedPreconditionError(absl::StrCat(
                "checkpoint ", path, " holds no raw weights beside its weight average"));
          }
          raw_model->load(raw_archive);
        }
        if (optimizer != nullptr) {
          if (!info.has_optimizer) {
            return absl::FailedPreconditionError(
                absl::StrCat("checkpoint ", path, " holds no optimizer state to resume from"));
          }
          torch::serialize::InputArchive optimizer_archive;
          archive.read("optimizer", optimizer_archive);
          optimizer->load(optimizer_archive);
        }
        return absl::OkStatus();
      });
}

std::string CheckpointPath(const std::string& dir, const std::string& stage,
                           const std::string& which) {
  return base::JoinPath(dir, absl::StrCat(stage, "_", which, ".pt"));
}

}  // namespace malaria::training
