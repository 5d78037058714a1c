#include "experiments/store/runs_root.h"

#include <cstdlib>
#include <filesystem>

#include "base/files.h"

namespace malaria::experiments {

std::string TrackerRoot(const std::string& runs_dir_flag, const std::string& config_root,
                        const std::string& workspace) {
  if (!runs_dir_flag.empty()) return base::ResolveUserPath(runs_dir_flag);
  if (const char* env = std::getenv("MALARIA_RUNS_DIR"); env != nullptr && *env != '\0') {
    return base::ResolveUserPath(env);
  }
  if (!config_root.empty()) {
    return std::filesystem::path(base::JoinPath(workspace, config_root))
        .lexically_normal()
        .string();
  }
  return base::JoinPath(workspace, "runs");
}

}  // namespace malaria::experiments
