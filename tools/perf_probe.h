// What perf_probe's two files share (perf_probe.cc: flags, main and the probes of the CPU;
// perf_probe_training.cc: the probes of the platform's training and inference paths).
#ifndef MALARIA_TOOLS_PERF_PROBE_H_
#define MALARIA_TOOLS_PERF_PROBE_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "models/classifier.h"
#include "models/model_config.pb.h"

namespace malaria::perf_probe {

// The "--flag value" pairs of the command line.
struct Flags {
  std::map<std::string, std::string> values;
  std::string Get(const std::string& name, const std::string& fallback) const {
    auto it = values.find(name);
    return it == values.end() ? fallback : it->second;
  }
  // Checked by ParseFlags: a value given is a whole number in its flag's range.
  int Int(const std::string& name, int fallback) const {
    int v = fallback;
    if (values.count(name)) absl::SimpleAtoi(values.at(name), &v);
    return v;
  }
};

// The model of --config (an experiment config: any recipe's exact network, checked as a run
// checks it), or torchvision's --arch with fastai's head; and that model built for two classes.
absl::StatusOr<models::ModelConfig> ModelConfigOf(const Flags& f);
absl::StatusOr<models::Classifier> Model(const Flags& f);

// The modes that run the platform's own training and inference code (perf_probe_training.cc),
// each returning its one JSON line.
absl::StatusOr<std::string> TrainStep(const Flags& f);
absl::StatusOr<std::string> Inference(const Flags& f);
absl::StatusOr<std::string> Epoch(const Flags& f);

}  // namespace malaria::perf_probe

#endif  // MALARIA_TOOLS_PERF_PROBE_H_
