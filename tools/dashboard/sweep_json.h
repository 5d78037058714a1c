// What the dashboard's JSON says about sweeps (experiments/sweep): the list of a tracker root's
// sweeps, and one sweep's trials with their axis values, objective (k-fold mean +- sd) and status,
// the best-so-far series and the parallel-coordinates data. Read from the runs the index holds,
// without LibTorch.
//
//   nlohmann::json list = SweepsJson(root, runs, host);        // {"sweeps": [...]}
//   absl::StatusOr<nlohmann::json> one = SweepJson(root, "speedrun_lr", runs, host);
#ifndef MALARIA_TOOLS_DASHBOARD_SWEEP_JSON_H_
#define MALARIA_TOOLS_DASHBOARD_SWEEP_JSON_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "experiments/store/run_reader.h"
#include "nlohmann/json.hpp"

namespace malaria::tools {

// SweepsJson lists the sweeps kept under `root` (docs/dashboard.md#sweeps): name, description,
// method, objective, trials planned and done, whether finished, and the best trial. A sweep whose
// config or runs cannot be read is listed with its "error".
nlohmann::json SweepsJson(const std::string& root, const std::vector<experiments::LoadedRun>& runs,
                          const std::string& host);

// SweepJson is one sweep's page: its config, the axes, one entry per planned trial (axis values as
// text and as numbers where they are, each fold's run id and status, objective, TFLOP, minutes,
// status), the best trial, the best-so-far series in the order trials completed, the table
// run_sweep --status prints and its summary. NotFound when no such sweep is kept.
absl::StatusOr<nlohmann::json> SweepJson(const std::string& root, const std::string& name,
                                         const std::vector<experiments::LoadedRun>& runs,
                                         const std::string& host);

}  // namespace malaria::tools

#endif  // MALARIA_TOOLS_DASHBOARD_SWEEP_JSON_H_
