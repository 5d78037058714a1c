// The team dashboard's HTTP server: DashboardHandler (tools/dashboard_handler.h) behind Debian's
// cpp-httplib, answering GET only, files streamed from disk. cpp-httplib stays inside the .cc.
//
//   DashboardServer server("/team/runs");
//   absl::StatusOr<int> port = server.Start("127.0.0.1", 8080);   // 0: any free port
//   ... server.Wait();   // until Stop() (from another thread, or a signal watcher)
#ifndef MALARIA_TOOLS_DASHBOARD_SERVER_H_
#define MALARIA_TOOLS_DASHBOARD_SERVER_H_

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace malaria::tools {

class DashboardServer {
 public:
  explicit DashboardServer(std::string root);
  ~DashboardServer();  // stops and joins

  // Start binds `host`:`port` (port 0: a free one) and serves on a background thread. Returns the
  // port bound; Unavailable naming host and port when it cannot bind.
  absl::StatusOr<int> Start(const std::string& host, int port);

  // Stop makes the server stop accepting and return from Wait; safe from any thread.
  void Stop();

  // Wait blocks until the server has stopped.
  void Wait();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::thread thread_;
};

// UrlHost returns `host` as a URL shows it: a wildcard address as localhost ([::1] for ::), an
// IPv6 address in brackets.
std::string UrlHost(const std::string& host);

// OpenToTheNetwork reports whether listening on `host` makes the dashboard reachable from other
// machines (anything but a loopback address).
bool OpenToTheNetwork(const std::string& host);

}  // namespace malaria::tools

#endif  // MALARIA_TOOLS_DASHBOARD_SERVER_H_
