// Server: xsd's event loop. Accepts clients on the dom0 unix socket and on
// per-domain sockets (created when a domain is INTRODUCEd, so a socket client
// can act as that domain), feeds their messages to Xenstore, and writes the
// replies back through each client's Channel as soon as its requests are
// handled — or, once a commit awaits it, after the one fdatasync of the loop
// iteration when persistence is on, so every acknowledged commit is durable.
// With a RingTransport it also serves dom0's kernel ring and the ring of every
// INTRODUCEd domain, and releases domains the hypervisor reports dead.
#pragma once

#include <memory>
#include <string>

#include "base/result.h"
#include "xsd/ring_transport.h"
#include "xsd/xenstore.h"

namespace txend::xsd {

struct ServerOptions {
  std::string socket_path = "/run/xenstored/socket";
  std::string domain_socket_dir;      // empty: no per-domain sockets
  size_t max_output_bytes = 4 << 20;  // a client queueing more than this is dropped
  std::string trace_file;             // -T: every message in and out
  bool dom0_ring = true;              // serve dom0's kernel ring when rings are on (-D: off)
};

class Server {
 public:
  // `rings` (optional) serves domains' shared rings; without it, sockets only.
  static Result<std::unique_ptr<Server>> Create(ServerOptions options, Xenstore& store,
                                                std::unique_ptr<RingTransport> rings = nullptr);
  ~Server();
  // Serves until RequestStop(); returns the first fatal error, if any.
  Status Run();
  // Async-signal-safe.
  void RequestStop();

  struct Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace txend::xsd
