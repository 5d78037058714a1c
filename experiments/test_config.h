// The experiment configs the tests build (testonly): a text config with the test's own changes
// merged over it, as --set merges them, and every default written out, as the runner sees it.
//
//   ExperimentConfig c = TestConfig(R"pb(name: "t" training { stage { ... } })pb", "seed: 9");
#ifndef MALARIA_EXPERIMENTS_TEST_CONFIG_H_
#define MALARIA_EXPERIMENTS_TEST_CONFIG_H_

#include <string>

#include "experiments/experiment.pb.h"

namespace malaria::experiments {

// TestConfig parses `text`, merges `changes` (text format) over it and fills the defaults. A config
// that does not parse fails the calling test.
ExperimentConfig TestConfig(const std::string& text, const std::string& changes = "");

}  // namespace malaria::experiments

#endif  // MALARIA_EXPERIMENTS_TEST_CONFIG_H_
