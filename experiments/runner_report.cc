// How a run ended, told to the user (runner.h: EpochsCompleted, ReportEnd).
#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/main.h"
#include "experiments/runner.h"

namespace malaria::experiments {

int EpochsCompleted(const RunInfo& info) {
  int epochs = 0;
  for (const StageSummary& s : info.stage()) epochs += s.epochs_completed();
  return epochs;
}

int ReportEnd(const RunResult& result, bool primary, std::FILE* out, std::FILE* err) {
  switch (result.info.status()) {
    case RunInfo::COMPLETED:
      if (primary) {
        absl::FPrintF(out, "\nCompleted in %.0f s. Run directory: %s\n",
                      result.info.duration_seconds(), result.run_dir);
      }
      return base::kExitOk;
    case RunInfo::INTERRUPTED:
      if (EpochsCompleted(result.info) == 0) {
        absl::FPrintF(err,
                      "\nINTERRUPTED: %s\nNo epoch's checkpoint had been saved, so --resume %s "
                      "starts the run again from its beginning.\n",
                      result.info.reason(), result.run_dir);
      } else {
        std::string after;
        for (const StageSummary& s : result.info.stage()) {
          if (s.epochs_completed() > 0) {
            after = absl::StrCat("epoch ", s.epochs_completed(), " of stage ", s.name());
          }
        }
        absl::FPrintF(err,
                      "\nINTERRUPTED: %s\nRun directory (checkpoints up to %s; --resume %s "
                      "continues after it): %s\n",
                      result.info.reason(), after, result.run_dir, result.run_dir);
      }
      return base::kExitInterrupted;
    default:
      absl::FPrintF(err, "\nFAILED: %s\nRun directory: %s\n", result.info.reason(), result.run_dir);
      return base::kExitFailed;
  }
}

}  // namespace malaria::experiments
