// RelocationServer: xend's relocation service. A TCP listener (plain, or TLS
// for the SSL relocation server) that serves each incoming migration from an
// allowed host (xend-relocation-hosts-allow) with Migration::ReceiveMigration,
// on a thread per connection. A plain server refuses every migration (its
// peers are unauthenticated) unless the operator opted out (insecure).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "base/result.h"
#include "http/host_allow_list.h"
#include "http/http_server.h"
#include "toolstack/migration/migration.h"
#include "toolstack/toolstack.h"

namespace txend::daemon {

class RelocationServer {
 public:
  struct Options {
    http::TcpEndpoint endpoint{"0.0.0.0", 8002};
    http::HostAllowList hosts_allow;
    std::chrono::milliseconds io_timeout{30000};
    size_t max_connections = 4;  // more are refused until one ends
    std::optional<toolstack::TlsOptions>
        tls;                // set: an SSL relocation server (xend-relocation-ssl-server)
    bool insecure = false;  // a plain server takes migrations (txend-relocation-insecure)
  };
  using Log = std::function<void(const std::string& line)>;

  // Binds, then accepts on a thread of its own.
  static Result<std::unique_ptr<RelocationServer>> Start(toolstack::Toolstack& toolstack,
                                                         Options options, Log log);
  // Stops accepting, cuts open connections (their migrations fail and clean up), joins.
  ~RelocationServer();
  uint16_t port() const;

  struct Impl;

 private:
  explicit RelocationServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace txend::daemon
