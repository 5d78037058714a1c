// Reading, overriding, validating and completing experiment configs.
//
//   absl::StatusOr<ExperimentConfig> config =
//   LoadExperimentConfig("experiments/resnet34_two_stage.pbtxt");
//   // errors: "experiments/x.pbtxt:12:5: Message type ... has no field named "epoch"."
//   RETURN_IF_ERROR(ApplyOverride("training.stage[1].epochs=2", &*config));
//   RETURN_IF_ERROR(ValidateExperimentConfig(*config));  // every problem, each naming its field
//   FillDefaults(&*config);  // every default written out, for the run's saved config
#ifndef MALARIA_EXPERIMENTS_CONFIG_H_
#define MALARIA_EXPERIMENTS_CONFIG_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "experiments/experiment.pb.h"

namespace malaria::experiments {

// ParseExperimentConfig parses text-format `text`. InvalidArgument on any syntax error or unknown
// field, as "<source>:<line>:<column>: <problem>" for each problem found.
absl::StatusOr<ExperimentConfig> ParseExperimentConfig(const std::string& text,
                                                       const std::string& source);

// LoadExperimentConfig reads and parses `path`. NotFound naming the file if it does not exist.
// When the config has no name, the file's stem becomes its name.
absl::StatusOr<ExperimentConfig> LoadExperimentConfig(const std::string& path);

// ApplyOverride applies one "field.path=value" assignment. Paths use proto field names, dots for
// sub-messages and [i] for repeated entries: `data.image_size=64`, `training.stage[0].epochs=2`,
// `training.stage[1].lr={slice {start: 1e-6 stop: 1e-5}}`, `model.head.dropout=[0.1, 0.2]`.
// Values are text-format values; strings may be given without quotes. InvalidArgument naming the
// assignment and the failing part otherwise.
absl::Status ApplyOverride(const std::string& assignment, ExperimentConfig* config);

// ValidateExperimentConfig checks the semantic rules (positive epochs, positive and ordered
// learning rates, known architecture, fractions in range, ...). InvalidArgument listing every
// violation as "<field path>: <problem>", one per line.
absl::Status ValidateExperimentConfig(const ExperimentConfig& config);

// FillDefaults writes out every default: unset optional fields get their declared default, and
// empty repeated fields with documented defaults (normalisation statistics, head sizes and
// dropouts, the split) get those values. A config after FillDefaults states every number a run
// uses.
void FillDefaults(ExperimentConfig* config);

// ToText returns `config` in text format.
std::string ToText(const google::protobuf::Message& message);

}  // namespace malaria::experiments

#endif  // MALARIA_EXPERIMENTS_CONFIG_H_
