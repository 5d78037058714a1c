// The dashboard under load on loopback: 24 concurrent clients for 3 seconds, asking for the runs
// list, run pages, comparisons and pictures, while a run is being written into the root (a new
// epoch every 20 ms, its run_info rewritten, new runs appearing). No error response, no crash;
// latency percentiles printed (not asserted: timing is the benchmark's business).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/files.h"
#include "base/test_util.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tools/dashboard/fixture.h"
#include "tools/dashboard/server.h"

namespace malaria::tools {
namespace {

constexpr int kClients = 24;
constexpr auto kDuration = std::chrono::seconds(3);

TEST(DashboardLoadTest, ManyClientsWhileARunIsBeingWritten) {
  const std::string root = base::TestDir("load");
  for (int i = 0; i < 40; ++i) {
    FixtureRun r;
    r.experiment = absl::StrCat("exp", i % 4);
    r.run_id = absl::StrFormat("20261201-%06d", i);
    r.pictures = i < 2;
    ASSERT_TRUE(WriteFixtureRun(root, r).ok());
  }
  // The live run exists before the first client asks for it: a 404 then is the test's race,
  // not the server's.
  FixtureRun live = RunningFixture("live", "20261201-235959", 1000, 0);
  ASSERT_TRUE(WriteFixtureRun(root, live).ok());
  DashboardServer server(root);
  absl::StatusOr<int> port = server.Start("127.0.0.1", 0);
  ASSERT_TRUE(port.ok()) << port.status();

  std::atomic<bool> stop{false};
  std::atomic<int> written{0};
  std::thread writer([&] {
    int n = 0;
    while (!stop) {
      live.epochs_done = ++n % 1000;
      ASSERT_TRUE(WriteFixtureRun(root, live).ok());
      if (n % 10 == 0) {
        FixtureRun fresh;
        fresh.experiment = "fresh";
        fresh.run_id = absl::StrFormat("20261202-%06d", n);
        ASSERT_TRUE(WriteFixtureRun(root, fresh).ok());
      }
      written = n;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });

  const std::vector<std::string> targets = {
      "/api/runs",
      "/api/runs?q=exp1",
      "/api/run?id=exp0/20261201-000000",
      "/api/run?id=live/20261201-235959",
      "/api/compare?ids=exp0/20261201-000000,exp1/20261201-000001,live/20261201-235959",
      "/files/exp0/20261201-000000/learning_curves.png",
      "/files/live/20261201-235959/metrics.csv",
      "/",
      "/static/uPlot.iife.min.js",
  };
  std::mutex mu;
  std::vector<double> latencies_ms, first_ms;  // first: each client's first request (connecting)
  std::vector<std::string> failures;
  std::vector<std::thread> clients;
  const auto deadline = std::chrono::steady_clock::now() + kDuration;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      httplib::Client client("127.0.0.1", *port);
      client.set_connection_timeout(5);
      client.set_read_timeout(10);
      std::vector<double> mine;
      for (int i = c; std::chrono::steady_clock::now() < deadline; ++i) {
        const std::string& target = targets[i % targets.size()];
        const auto start = std::chrono::steady_clock::now();
        httplib::Result res = client.Get(target.c_str());
        mine.push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                .count());
        if (!res || res->status != 200) {
          std::lock_guard<std::mutex> lock(mu);
          failures.push_back(absl::StrCat(
              target, " -> ",
              res ? absl::StrCat(res->status, " ", res->body) : httplib::to_string(res.error())));
        }
      }
      std::lock_guard<std::mutex> lock(mu);
      if (!mine.empty()) first_ms.push_back(mine.front());
      latencies_ms.insert(latencies_ms.end(), mine.begin() + (mine.empty() ? 0 : 1), mine.end());
    });
  }
  for (std::thread& t : clients) t.join();
  stop = true;
  writer.join();
  server.Stop();
  server.Wait();

  std::sort(latencies_ms.begin(), latencies_ms.end());
  auto pct = [&](double p) {
    return latencies_ms[std::min(latencies_ms.size() - 1,
                                 static_cast<size_t>(p / 100 * latencies_ms.size()))];
  };
  ASSERT_FALSE(latencies_ms.empty());
  std::printf(
      "%zu requests from %d clients in %lld s while %d epochs were written: p50 %.1f ms, p90 %.1f "
      "ms, p99 %.1f ms, max %.1f ms; first request of each client (connecting all at once; "
      "cpp-httplib 0.11 listens with a backlog of 5, so some connections wait for a SYN retry): "
      "max %.1f ms\n",
      latencies_ms.size() + first_ms.size(), kClients, static_cast<long long>(kDuration.count()),
      written.load(), pct(50), pct(90), pct(99), latencies_ms.back(),
      *std::max_element(first_ms.begin(), first_ms.end()));
  EXPECT_GT(written.load(), 10);
  EXPECT_TRUE(failures.empty()) << failures.size() << " failed requests, first: " << failures[0];
}

}  // namespace
}  // namespace malaria::tools
