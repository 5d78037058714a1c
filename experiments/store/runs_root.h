// Where runs go (and where the dashboard and the tools look for them): the tracker root.
//
//   std::string root = TrackerRoot(flag_runs_dir, config.tracker().root(), base::WorkspaceDir());
#ifndef MALARIA_EXPERIMENTS_STORE_RUNS_ROOT_H_
#define MALARIA_EXPERIMENTS_STORE_RUNS_ROOT_H_

#include <string>

namespace malaria::experiments {

// TrackerRoot picks, in this order: `runs_dir_flag` (a --runs_dir, resolved against the folder the
// user started the command in), $MALARIA_RUNS_DIR (the same), `config_root` (a config's
// tracker.root, relative to `workspace`), <workspace>/runs.
std::string TrackerRoot(const std::string& runs_dir_flag, const std::string& config_root,
                        const std::string& workspace);

}  // namespace malaria::experiments

#endif  // MALARIA_EXPERIMENTS_STORE_RUNS_ROOT_H_
