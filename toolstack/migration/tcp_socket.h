// TcpSocket: an owned TCP connection for the relocation protocol — connect
// with a deadline, blocking I/O with per-call timeouts, optionally TLS, and
// the kernel's byte counters (what was sent and acknowledged, what was received).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "base/result.h"
#include "base/unique_fd.h"
#include "toolstack/migration/tls_tunnel.h"

namespace txend::toolstack {

class TcpSocket {
 public:
  // Resolves `host` (name or address) and connects within `timeout`.
  static Result<TcpSocket> Connect(const std::string& host, uint16_t port,
                                   std::chrono::milliseconds timeout);
  explicit TcpSocket(UniqueFd fd) : fd_(std::move(fd)) {}  // adopts an accepted socket
  TcpSocket(TcpSocket&& other) noexcept = default;
  TcpSocket& operator=(TcpSocket&& other) noexcept;
  ~TcpSocket();

  // Where to read and write: the socket, or the plaintext end of its TLS tunnel.
  int fd() const { return tls_ ? tls_->fd() : fd_.get(); }
  // Every later send or receive fails with ETIMEDOUT after `timeout` without progress.
  Status SetIoTimeout(std::chrono::milliseconds timeout);
  // Handshakes (as client or server) and carries everything after it through TLS.
  Status StartTls(bool server, const TlsOptions& options);
  // Over TLS: the peer certificate's subject ("" without one), and why TLS
  // failed after the handshake ("" if it has not).
  std::string PeerSubject() const { return tls_ ? tls_->peer_subject() : ""; }
  std::string TlsError() const { return tls_ ? tls_->error() : ""; }
  uint64_t BytesAcked() const;  // sent and acknowledged by the peer
  uint64_t BytesReceived() const;
  // Ends both directions: blocked readers and writers on other threads return.
  void Shutdown();
  // Ends our direction and reads until the peer closes (at most `limit`), so
  // what we sent last (a TLS alert) is not lost to a reset of unread data.
  void Linger(std::chrono::milliseconds limit);

 private:
  UniqueFd fd_;
  std::chrono::milliseconds timeout_{0};  // 0: none set
  std::unique_ptr<TlsTunnel> tls_;
};

}  // namespace txend::toolstack
