// The team's experiment dashboard: a live web view of a tracker root (see docs/dashboard.md).
//
//   bazel run //tools:dashboard -- --runs_dir /team/runs [--port 8080] [--host 127.0.0.1]
//
// Serves until Ctrl-C (or SIGTERM). The tracker root defaults as for the runner: $MALARIA_RUNS_DIR,
// else <workspace>/runs. Read-only; binds the loopback address unless --host says otherwise.
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/files.h"
#include "base/flags.h"
#include "base/main.h"
#include "base/signals.h"
#include "experiments/store/runs_root.h"
#include "tools/dashboard/server.h"

namespace malaria::tools {
namespace {

absl::StatusOr<int> Main(int argc, char** argv) {
  std::string runs_dir, host = "127.0.0.1";
  int port = 8080;
  base::FlagParser flags(
      "dashboard [--runs_dir DIR] [--port 8080] [--host 127.0.0.1]",
      "Serves a live web view of a tracker root: every run, live progress, runs compared side by\n"
      "side. Read-only. Stop with Ctrl-C.");
  flags.String("runs_dir", &runs_dir,
               "tracker root (default $MALARIA_RUNS_DIR, or <workspace>/runs)");
  flags.Int("port", &port, "port to listen on (0: any free port)");
  flags.String("host", &host,
               "address to bind; 0.0.0.0 opens the dashboard to the network (no login: only on "
               "a network you trust)");
  absl::StatusOr<bool> go = flags.Parse(argc, argv);
  if (!go.ok()) return go.status();
  if (!*go) return base::kExitOk;
  if (port < 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("--port ", port, " is not a port (0-65535)"));
  }
  runs_dir = experiments::TrackerRoot(runs_dir, "", base::WorkspaceDir());
  if (!base::IsDirectory(runs_dir)) {
    return absl::NotFoundError(absl::StrCat("tracker root ", runs_dir,
                                            " is not a folder (--runs_dir, $MALARIA_RUNS_DIR)"));
  }

  // Ctrl-C and SIGTERM: the handler (whichever thread it runs on) writes a byte to a pipe; a
  // watcher thread reading it stops the server (base/signals.h).
  base::InstallStopSignals({SIGINT, SIGTERM});
  if (base::StopSignalPipe() < 0) return absl::InternalError("cannot create a pipe");

  DashboardServer server(runs_dir);
  absl::StatusOr<int> bound = server.Start(host, port);
  if (!bound.ok()) return bound.status();
  if (OpenToTheNetwork(host)) {
    absl::FPrintF(stderr,
                  "WARNING: --host %s serves the dashboard to the network; it has no login, so "
                  "anyone who reaches this port reads every run under %s\n",
                  host, runs_dir);
  }
  absl::PrintF("Dashboard of %s\n  http://%s:%d/\n(Ctrl-C stops it)\n", runs_dir, UrlHost(host),
               *bound);
  std::fflush(stdout);
  std::thread watcher([&server] {
    char byte;
    while (::read(base::StopSignalPipe(), &byte, 1) < 0 && errno == EINTR) {
    }
    server.Stop();
  });
  server.Wait();
  base::WakeStopSignalPipe();  // the server stopped on its own: wake the watcher
  watcher.join();
  absl::PrintF("Dashboard stopped.\n");
  return base::kExitOk;
}

}  // namespace
}  // namespace malaria::tools

int main(int argc, char** argv) { return malaria::base::RunMain(argc, argv, malaria::tools::Main); }
