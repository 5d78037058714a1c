// The dashboard's HTTP server: hostile requests on a real socket never serve anything outside the
// tracker root, and the addresses it binds show as URLs say. (Its pages: handler_test.cc.)
#include "tools/dashboard/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/files.h"
#include "base/test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/dashboard/fixture.h"

namespace malaria::tools {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Sends `request` as it is (no client-side normalisation) and returns the status code.
int RawStatus(int port, const std::string& request, std::string* body = nullptr) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += n;
  }
  std::string response;
  char buffer[4096];
  // Until the server closes, or the whole response (headers and Content-Length bytes) is in:
  // httplib keeps a connection open after an error answer until its read timeout.
  for (ssize_t n; (n = recv(fd, buffer, sizeof(buffer), 0)) > 0;) {
    response.append(buffer, n);
    const size_t end = response.find("\r\n\r\n");
    const size_t length = response.find("Content-Length: ");
    if (end != std::string::npos && length != std::string::npos && length < end &&
        response.size() >= end + 4 + std::stoul(response.substr(length + 16))) {
      break;
    }
  }
  close(fd);
  if (body != nullptr) *body = response;
  if (response.size() < 12 || response.rfind("HTTP/1.1 ", 0) != 0) return 0;
  return std::stoi(response.substr(9, 3));
}

std::string Get(const std::string& target) {
  return absl::StrCat("GET ", target, " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
}

TEST(DashboardServerTest, HostileUrlsNeverServeAnythingOutsideTheRoot) {
  const std::string root = base::TestDir("hostile");
  FixtureRun run;
  run.experiment = "lr";
  run.run_id = "a";
  ASSERT_TRUE(WriteFixtureRun(root, run).ok());
  const std::string outside = base::TestDir("outside2");
  ASSERT_TRUE(base::WriteFileAtomically(outside + "/secret.txt", "TOP-SECRET").ok());
  std::filesystem::create_directory_symlink(outside, root + "/lr/a/link_out");
  DashboardServer server(root);
  absl::StatusOr<int> port = server.Start("127.0.0.1", 0);
  ASSERT_TRUE(port.ok()) << port.status();

  std::string body;
  EXPECT_EQ(RawStatus(*port, Get("/files/lr/a/metrics.csv"), &body), 200);
  EXPECT_THAT(body, HasSubstr("stage,epoch"));
  EXPECT_THAT(body, HasSubstr("X-Content-Type-Options: nosniff"));
  const std::string secret_rel = std::filesystem::relative(outside + "/secret.txt", root);
  const std::vector<std::string> attacks = {
      "/files/" + secret_rel,
      "/files/../outside2/secret.txt",
      "/files/%2e%2e/outside2/secret.txt",
      "/files/lr/a/%2E%2E%2F%2E%2E%2F%2E%2E%2Foutside2%2Fsecret.txt",
      "/files/lr/a/link_out/secret.txt",
      "/files//etc/passwd",
      "/files/%2fetc%2fpasswd",
      "/files/lr/a/metrics.csv%00.png",
      "/files/lr/a/%zz%2",
      "/%",
      "/files/..%c0%af..%c0%afetc/passwd",
      "/api/run?id=../../etc/passwd",
      "/api/run?id=%00",
      "/api/compare?ids=../x,%2e%2e/y",
      "/static/../../etc/passwd",
      "/files/" + std::string(20000, 'a'),
      "/api/runs?q=" + std::string(6000, '%'),
  };
  for (const std::string& attack : attacks) {
    const int status = RawStatus(*port, Get(attack), &body);
    EXPECT_TRUE(status == 200 || status == 400 || status == 404 || status == 414)
        << attack.substr(0, 80) << " -> " << status;
    EXPECT_THAT(body, Not(HasSubstr("TOP-SECRET"))) << attack.substr(0, 80);
    EXPECT_THAT(body, Not(HasSubstr("root:x:0:0"))) << attack.substr(0, 80);
    if (attack.rfind("/files/", 0) == 0 || attack.rfind("/static/", 0) == 0) {
      EXPECT_NE(status, 200) << attack.substr(0, 80);
    }
  }
  for (const char* method : {"POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"}) {
    EXPECT_EQ(
        RawStatus(*port, absl::StrCat(method,
                                      " /api/runs HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
                                      "Connection: close\r\n\r\n")),
        405)
        << method;
  }
  EXPECT_LE(RawStatus(*port, "GARBAGE\r\n\r\n"), 400) << "a malformed request is refused";
  // Still serving after all that.
  EXPECT_EQ(RawStatus(*port, Get("/api/runs")), 200);
  server.Stop();
  server.Wait();
}

TEST(DashboardServerTest, AddressesShowAsUrlsSayAndOpenOnesAreKnown) {
  EXPECT_EQ(UrlHost("127.0.0.1"), "127.0.0.1");
  EXPECT_EQ(UrlHost("0.0.0.0"), "localhost");
  EXPECT_EQ(UrlHost("::1"), "[::1]");
  EXPECT_EQ(UrlHost("::"), "[::1]");
  EXPECT_EQ(UrlHost("fe80::1"), "[fe80::1]");
  EXPECT_EQ(UrlHost("[::1]"), "[::1]");
  EXPECT_FALSE(OpenToTheNetwork("127.0.0.1"));
  EXPECT_FALSE(OpenToTheNetwork("::1"));
  EXPECT_FALSE(OpenToTheNetwork("localhost"));
  EXPECT_TRUE(OpenToTheNetwork("0.0.0.0"));
  EXPECT_TRUE(OpenToTheNetwork("::"));
  EXPECT_TRUE(OpenToTheNetwork("192.168.1.5"));
}

}  // namespace
}  // namespace malaria::tools
