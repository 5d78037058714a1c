#include "training/slurm_env.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace malaria::training {

absl::StatusOr<int> IntVariable(const EnvReader& env, const char* name, int fallback) {
  const char* v = env(name);
  if (v == nullptr || *v == '\0') return fallback;
  int out;
  if (!absl::SimpleAtoi(v, &out) || out < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("environment variable ", name, "='", v, "' is not a non-negative integer"));
  }
  return out;
}

namespace {

// Splits on commas outside brackets.
std::vector<std::string> TopLevelParts(const std::string& list) {
  std::vector<std::string> parts;
  std::string current;
  int depth = 0;
  for (char c : list) {
    if (c == '[') ++depth;
    if (c == ']') --depth;
    if (c == ',' && depth == 0) {
      parts.push_back(current);
      current.clear();
    } else {
      current += c;
    }
  }
  if (!current.empty()) parts.push_back(current);
  return parts;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ExpandSlurmHostList(const std::string& list,
                                                             int max_hosts) {
  std::vector<std::string> hosts;
  auto too_many = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("host list '", list.substr(0, 200), "': more than ", max_hosts, " hosts"));
  };
  for (const std::string& part : TopLevelParts(list)) {
    const size_t open = part.find('[');
    if (open == std::string::npos) {
      if (part.find(']') != std::string::npos) {
        return absl::InvalidArgumentError(absl::StrCat("host list '", list, "': unbalanced ']'"));
      }
      if (static_cast<int>(hosts.size()) >= max_hosts) return too_many();
      hosts.push_back(part);
      continue;
    }
    const size_t close = part.find(']', open);
    if (close == std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("host list '", list, "': unbalanced '['"));
    }
    const std::string prefix = part.substr(0, open), suffix = part.substr(close + 1);
    for (absl::string_view range :
         absl::StrSplit(part.substr(open + 1, close - open - 1), ',', absl::SkipEmpty())) {
      const std::vector<std::string> ends = absl::StrSplit(range, '-');
      int from, to;
      if (ends.size() > 2 || !absl::SimpleAtoi(ends[0], &from) ||
          !absl::SimpleAtoi(ends.back(), &to) || from > to || from < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("host list '", list, "': bad range '", range, "'"));
      }
      const size_t width = ends[0].size();
      if (static_cast<long long>(to) - from + 1 >
          max_hosts - static_cast<long long>(hosts.size())) {
        return too_many();
      }
      for (int i = from; i <= to; ++i) {
        std::string number = absl::StrCat(i);
        if (number.size() < width) number.insert(0, width - number.size(), '0');
        hosts.push_back(absl::StrCat(prefix, number, suffix));
      }
    }
  }
  return hosts;
}

absl::StatusOr<int> TasksOnNode(const std::string& tasks_per_node, int node) {
  int seen = 0;
  for (absl::string_view part : absl::StrSplit(tasks_per_node, ',', absl::SkipEmpty())) {
    int tasks = 0, repeat = 1;
    const size_t x = part.find("(x");
    const bool ok = x == absl::string_view::npos
                        ? absl::SimpleAtoi(part, &tasks)
                        : absl::SimpleAtoi(part.substr(0, x), &tasks) && part.back() == ')' &&
                              absl::SimpleAtoi(part.substr(x + 2, part.size() - x - 3), &repeat);
    if (!ok || tasks < 1 || repeat < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("tasks per node '", tasks_per_node, "': cannot read '", part, "'"));
    }
    if (node < seen + repeat) return tasks;
    seen += repeat;
  }
  return absl::InvalidArgumentError(absl::StrCat("tasks per node '", tasks_per_node, "' names ",
                                                 seen, " node(s), not node ", node));
}

absl::StatusOr<std::optional<SlurmStep>> SlurmStepFromEnvironment(const EnvReader& env) {
  absl::StatusOr<int> world = IntVariable(env, "SLURM_STEP_NUM_TASKS", 1);
  if (!world.ok()) return world.status();
  if (*world <= 1) return std::nullopt;
  SlurmStep step;
  step.world_size = *world;
  absl::StatusOr<int> rank = IntVariable(env, "SLURM_PROCID", -1);
  if (!rank.ok()) return rank.status();
  if (*rank < 0 || *rank >= *world) {
    return absl::InvalidArgumentError(
        absl::StrCat("environment variable SLURM_PROCID is unset or not below "
                     "SLURM_STEP_NUM_TASKS=",
                     *world));
  }
  step.rank = *rank;
  absl::StatusOr<int> local = IntVariable(env, "SLURM_LOCALID", 0);
  if (!local.ok()) return local.status();
  step.local_rank = *local;
  absl::StatusOr<int> node = IntVariable(env, "SLURM_NODEID", 0);
  if (!node.ok()) return node.status();
  if (const char* t = env("SLURM_STEP_TASKS_PER_NODE"); t != nullptr && *t != '\0') {
    absl::StatusOr<int> here = TasksOnNode(t, *node);
    if (!here.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "environment variable SLURM_STEP_TASKS_PER_NODE: ", here.status().message()));
    }
    step.local_world_size = *here;
  } else {
    step.local_world_size = step.world_size;
  }
  const char* nodes = env("SLURM_STEP_NODELIST");
  if (nodes == nullptr || *nodes == '\0') nodes = env("SLURM_JOB_NODELIST");
  if (nodes == nullptr || *nodes == '\0') {
    return absl::InvalidArgumentError(
        "environment variable SLURM_STEP_NODELIST (and SLURM_JOB_NODELIST) is unset: rank 0's "
        "host is unknown");
  }
  absl::StatusOr<std::vector<std::string>> hosts = ExpandSlurmHostList(nodes);
  if (!hosts.ok() || hosts->empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("environment variable SLURM_STEP_NODELIST: ",
                     hosts.ok() ? "empty" : std::string(hosts.status().message())));
  }
  step.master_addr = hosts->front();
  // MASTER_PORT when given; else one per job step, so two steps on one node do not collide.
  absl::StatusOr<int> port = IntVariable(env, "MASTER_PORT", 0);
  if (!port.ok()) return port.status();
  if (*port == 0) {
    absl::StatusOr<int> job = IntVariable(env, "SLURM_JOB_ID", 0);
    if (!job.ok()) return job.status();
    absl::StatusOr<int> id = IntVariable(env, "SLURM_STEP_ID", 0);
    if (!id.ok()) return id.status();
    port = 20000 + static_cast<int>((static_cast<long long>(*job) * 7 + *id) % 30000);
  }
  if (*port < 1 || *port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("environment variable MASTER_PORT=", *port, " is not a TCP port (1-65535)"));
  }
  step.master_port = *port;
  return step;
}

}  // namespace malaria::training
