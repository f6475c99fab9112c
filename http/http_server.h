// HttpServer: serves HTTP/1.1 (and 1.0) on a unix socket and, opt-in, a TCP
// endpoint, handing each decoded request to one Handler on a worker pool.
// Built on Boost.Beast. Slow clients time out; oversized bodies get 413.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "base/result.h"
#include "http/host_allow_list.h"
#include "http/http_message.h"

namespace txend::http {

struct TcpEndpoint {
  std::string address = "127.0.0.1";
  uint16_t port = 8000;  // 0 picks a free port (tests)
};

struct ServerOptions {
  std::string unix_socket;         // empty: no unix listener
  unsigned unix_mode = 0600;       // root-only by default
  std::optional<TcpEndpoint> tcp;  // off unless set
  HostAllowList hosts_allow;       // TCP clients only
  size_t max_body_bytes = 1 << 20;
  size_t max_connections = 512;
  std::chrono::milliseconds io_timeout{30000};  // per read or write
  int worker_threads = 8;
};

// Counters, readable while serving.
struct ServerStats {
  std::atomic<uint64_t> connections{0};
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> error_replies{0};  // 4xx/5xx
  std::atomic<uint64_t> refused{0};        // not in hosts-allow, or too many connections
  std::atomic<uint64_t> timeouts{0};
};

class HttpServer {
 public:
  // Runs on a worker thread; may block (toolstack operations do).
  using Handler = std::function<HttpResponse(const HttpRequest&)>;

  // Binds every listener, then serves on background threads.
  static Result<std::unique_ptr<HttpServer>> Start(ServerOptions options, Handler handler);
  ~HttpServer();  // stops and joins

  // The bound TCP port (useful when 0 was asked for); 0 when TCP is off.
  uint16_t tcp_port() const;
  const ServerStats& stats() const;

  struct Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace txend::http
