// The trained model of a run, loaded from its checkpoints, for evaluating and classifying.
//
//   absl::StatusOr<TrainedModel> m = LoadTrainedModel(run, "");      // the run's final model
//   absl::StatusOr<TrainedModel> b = LoadTrainedModel(run, "best");  // the last stage's best epoch
//   absl::StatusOr<TrainedModel> s = LoadTrainedModel(run, "last", "stage1");  // a chosen stage's
//   m->model, m->checkpoint, m->classes, m->positive
#ifndef MALARIA_EXPERIMENTS_TRAINED_MODEL_H_
#define MALARIA_EXPERIMENTS_TRAINED_MODEL_H_

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "evaluation/predictions.h"
#include "evaluation/report.pb.h"
#include "evaluation/tta_setting.h"
#include "experiments/store/out_of_fold.h"
#include "experiments/store/run_reader.h"
#include "inference/predictor.h"
#include "models/classifier.h"
#include "training/training_config.pb.h"

namespace malaria::experiments {

struct TrainedModel {
  models::Classifier model{nullptr};
  std::string checkpoint;  // the file it was loaded from
  // What the checkpoint is, in words: "the run's final model (evaluation.final_model LAST)", or
  // "the best epoch of stage 'stage1' (--checkpoint, --stage)".
  std::string origin;
  std::vector<std::string> classes;  // as the model was trained
  int positive = 0;                  // index of evaluation.positive_class
};

// LoadTrainedModel builds the run's architecture and loads checkpoint `which` ("best" or "last";
// empty: the one evaluation.final_model names, the model the run itself evaluated and calibrated)
// of stage `stage`, or, when `stage` is empty, of the run's last stage. Never a silent substitute:
// a missing file is an error naming it (and, for a run that stopped early, the stages that have
// checkpoints to choose from). FailedPrecondition for a RUNNING run; InvalidArgument for another
// `which` or a stage the run does not have.
absl::StatusOr<TrainedModel> LoadTrainedModel(const LoadedRun& run, const std::string& which,
                                              const std::string& stage = "");

// LoadCalibration returns the calibration the run fitted for `model`'s checkpoint on its
// validation set (calibration.pbtxt), or nullopt when the run has none (older runs) or it was
// fitted for another checkpoint (an explicit --stage or --checkpoint). An unreadable file is an
// error naming it.
absl::StatusOr<std::optional<evaluation::Calibration>> LoadCalibration(const LoadedRun& run,
                                                                       const TrainedModel& model);

// DescribeModel says which checkpoint `model` is and which calibration it uses (`calibration`,
// from LoadCalibration; `calibrate` false: turned off), for the tools to print:
// "checkpoint RUN/checkpoints/train_last.pt (the run's final model ...); calibration
// RUN/calibration.pbtxt (temperature 1.23, threshold 0.456)".
std::string DescribeModel(const LoadedRun& run, const TrainedModel& model,
                          const std::optional<evaluation::Calibration>& calibration,
                          bool calibrate);

struct Ensemble;

// PrintModels writes one line per member of `ensemble` to `out`: "Model: <DescribeModel>" (for
// several, "Model 1: ...", "Model 2: ..."; a k-fold model: a line for it, then its fold models).
// `label` replaces "Model".
void PrintModels(const Ensemble& ensemble, bool calibrate, std::FILE* out,
                 const char* label = "Model");

// The models of several runs used together (the folds of a k-fold experiment, say): each predicts
// and their probabilities are averaged.
struct Ensemble {
  std::vector<LoadedRun> runs;
  std::vector<TrainedModel> models;
  std::vector<std::optional<evaluation::Calibration>> calibrations;  // LoadCalibration's
  // Set for a k-fold job's model (out_of_fold.h): its fold runs are the members, and its rules,
  // fitted on every patient's out-of-fold predictions, are every member's calibration and the
  // ensemble's decision.
  std::optional<KeptKFoldModel> kfold;
};

// LoadEnsemble loads checkpoint `which` of `stage` (LoadTrainedModel's rules) of every run at
// `paths`: run directories, or folders of runs such as an experiment's, whose COMPLETED runs all
// join; or one k-fold job's model (a folder with model.pbtxt, ReadKFoldModel), its fold runs'
// final models with its rules (it takes no `which` or `stage`, and no other path). InvalidArgument
// naming both runs when members differ in classes or data.image_size; NotFound when no run is
// found.
absl::StatusOr<Ensemble> LoadEnsemble(const std::vector<std::string>& paths,
                                      const std::string& which, const std::string& stage);

// MemberOf returns `model` of `run` as a predictor's member: sized and normalised as its config's
// data.* says for evaluation, channels-last as it trained, in the arithmetic it trained in where
// this CPU has it (bfloat16 autocast for a BFLOAT16 run on a CPU with the units; float32
// otherwise), without a temperature.
absl::StatusOr<inference::Member> MemberOf(const TrainedModel& model, const LoadedRun& run);

// BuildPredictor returns `ensemble`'s predictor, averaging the views `tta` names: its members
// (MemberOf). With `calibrate` and every member calibrated for its checkpoint, each member's
// temperature is applied before averaging and the predictor decides with the combined calibration
// (one member: its own; a k-fold model: its rules), which `used` receives (nullopt otherwise).
absl::StatusOr<inference::Predictor> BuildPredictor(const Ensemble& ensemble,
                                                    const evaluation::Tta& tta, bool calibrate,
                                                    std::optional<evaluation::Calibration>* used);

// The arithmetic `run` trained in: as its run_info records it (training.precision resolved on its
// machine), else its config's training.precision.
training::Precision TrainedPrecision(const LoadedRun& run);

}  // namespace malaria::experiments

#endif  // MALARIA_EXPERIMENTS_TRAINED_MODEL_H_
