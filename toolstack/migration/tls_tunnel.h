// TlsTunnel: TLS (OpenSSL) over a connected TCP socket, offered to its user
// as a plain file descriptor — one end of a socket pair whose other end a
// pump thread carries through TLS. So the hypervisor's save and restore, which
// read and write a file descriptor, travel encrypted unchanged. For xend's
// SSL relocation (xend-relocation-ssl-server, xm migrate --ssl).
#pragma once

#include <memory>
#include <string>

#include "base/result.h"

namespace txend::toolstack {

struct TlsOptions {
  std::string cert_file;  // PEM; required of a server, optional for a client
  std::string key_file;   // PEM
  // PEM CA certificates the peer's certificate must chain to. Set, a server
  // refuses clients without such a certificate (mutual TLS); empty, the peer
  // is not verified (encryption only, as xend's SSL relocation did).
  std::string ca_file;
  // A client's check of the server: its certificate must name this host (a
  // DNS name, or an IP address in its subjectAltName). Empty: not checked.
  std::string peer_name;
};

class TlsTunnel {
 public:
  // Handshakes on `tcp_fd` (not owned; blocking) and starts the pump. EPROTO
  // with OpenSSL's reason when the handshake or the certificates fail.
  static Result<std::unique_ptr<TlsTunnel>> Client(int tcp_fd, const TlsOptions& options);
  static Result<std::unique_ptr<TlsTunnel>> Server(int tcp_fd, const TlsOptions& options);
  // Stops the pump (the peer sees the connection end) and closes fd().
  ~TlsTunnel();

  int fd() const;  // plaintext: read and write as if it were the socket
  // The peer certificate's subject ("CN=host-a,O=pool"), or "" without one.
  const std::string& peer_subject() const;
  // Why the connection failed after the handshake (e.g. the server's alert
  // refusing our certificate under TLS 1.3), or "" while it has not.
  std::string error() const;

  struct Impl;

 private:
  explicit TlsTunnel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace txend::toolstack
