#include "tools/dashboard/server.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>

#include "absl/strings/str_cat.h"
#include "httplib.h"
#include "tools/dashboard/handler.h"

namespace malaria::tools {

struct DashboardServer::Impl {
  explicit Impl(std::string root) : handler(std::move(root)) {}
  DashboardHandler handler;
  httplib::Server server;
};

namespace {

constexpr size_t kChunk = 1 << 16;
constexpr size_t kWorkers = 64;

void Answer(DashboardHandler& handler, const httplib::Request& req, httplib::Response& res) {
  std::multimap<std::string, std::string> params(req.params.begin(), req.params.end());
  DashboardResponse r = handler.Handle(req.path, params);
  res.status = r.status;
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Referrer-Policy", "no-referrer");
  for (const auto& [name, value] : r.headers) res.set_header(name.c_str(), value);
  if (r.file.empty()) {
    res.set_content(r.body, r.content_type.c_str());
    return;
  }
  // Streamed in chunks, so a large checkpoint does not sit in memory.
  auto file = std::shared_ptr<std::FILE>(std::fopen(r.file.c_str(), "rb"), [](std::FILE* f) {
    if (f != nullptr) std::fclose(f);
  });
  if (file == nullptr) {
    res.status = 404;
    res.set_content("{\"error\":\"no such file\"}", "application/json");
    return;
  }
  res.set_content_provider(static_cast<size_t>(r.file_size), r.content_type,
                           [file](size_t offset, size_t length, httplib::DataSink& sink) {
                             std::string buffer(std::min(length, kChunk), '\0');
                             if (std::fseek(file.get(), static_cast<long>(offset), SEEK_SET) != 0)
                               return false;
                             const size_t n =
                                 std::fread(buffer.data(), 1, buffer.size(), file.get());
                             if (n == 0) return false;  // the file shrank while being sent
                             return sink.write(buffer.data(), n);
                           });
}

absl::Status RequirePortFree(const std::string& host, int port) {
  addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) {
    return absl::InvalidArgumentError(absl::StrCat("--host ", host, " is not an address"));
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> addresses(found, ::freeaddrinfo);
  const int fd = ::socket(found->ai_family, found->ai_socktype, found->ai_protocol);
  if (fd < 0) return absl::InternalError("cannot create a socket");
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));  // TIME_WAIT is fine
  const bool bound = ::bind(fd, found->ai_addr, found->ai_addrlen) == 0;
  const int error = errno;
  ::close(fd);
  if (!bound) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on ", host, ":", port, ": ", std::strerror(error),
        error == EADDRINUSE ? " (another program, or another dashboard, listens there; try --port)"
                            : ""));
  }
  return absl::OkStatus();
}

}  // namespace

DashboardServer::DashboardServer(std::string root)
    : impl_(std::make_unique<Impl>(std::move(root))) {
  httplib::Server& s = impl_->server;
  DashboardHandler& handler = impl_->handler;
  s.Get(".*", [&handler](const httplib::Request& req, httplib::Response& res) {
    Answer(handler, req, res);
  });
  // Read-only: every method but GET (and HEAD, which httplib answers from GET) is refused with
  // 405, before any routing (OPTIONS and TRACE included).
  s.set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
    if (req.method == "GET" || req.method == "HEAD")
      return httplib::Server::HandlerResponse::Unhandled;
    res.status = 405;
    res.set_header("Allow", "GET, HEAD");
    res.set_content("{\"error\":\"the dashboard is read-only: GET only\"}", "application/json");
    return httplib::Server::HandlerResponse::Handled;
  });
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    res.status = 500;
    res.set_content("{\"error\":\"internal error\"}", "application/json");
  });
  // A browser keeps up to six connections open, each holding a worker thread while it idles:
  // enough workers for a team, and idle connections closed after 5 s.
  s.new_task_queue = [] { return new httplib::ThreadPool(kWorkers); };
  s.set_keep_alive_timeout(5);
  s.set_keep_alive_max_count(
      1000);  // fewer reconnections: cpp-httplib 0.11 listens with a backlog of 5
  s.set_read_timeout(5, 0);
  s.set_write_timeout(30, 0);
}

DashboardServer::~DashboardServer() {
  Stop();
  Wait();
}

absl::StatusOr<int> DashboardServer::Start(const std::string& host, int port) {
  httplib::Server& s = impl_->server;
  // cpp-httplib binds with SO_REUSEPORT, so a second server on a busy port would silently share
  // it: probe with a plain bind first.
  if (port != 0) {
    if (absl::Status free = RequirePortFree(host, port); !free.ok()) return free;
  }
  const int bound = port == 0 ? s.bind_to_any_port(host) : (s.bind_to_port(host, port) ? port : -1);
  if (bound <= 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", host, ":", port,
                                               " (in use, or not an address of this machine)"));
  }
  thread_ = std::thread([&s] { s.listen_after_bind(); });
  return bound;
}

void DashboardServer::Stop() { impl_->server.stop(); }

void DashboardServer::Wait() {
  if (thread_.joinable()) thread_.join();
}

std::string UrlHost(const std::string& host) {
  if (host == "0.0.0.0") return "localhost";
  if (host == "::") return "[::1]";
  if (host.find(':') != std::string::npos && host.front() != '[')
    return absl::StrCat("[", host, "]");
  return host;
}

bool OpenToTheNetwork(const std::string& host) {
  return !(host == "localhost" || host == "::1" || host == "[::1]" || host.rfind("127.", 0) == 0);
}

}  // namespace malaria::tools
