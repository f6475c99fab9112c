#include "toolstack/migration/tls_tunnel.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <future>
#include <mutex>
#include <string>
#include <sys/socket.h>
#include <thread>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "base/unique_fd.h"
#include "tls/peer_certificate.h"

namespace txend::toolstack {
namespace {

std::string SslReason(const char* fallback) {
  unsigned long e = ERR_get_error();
  char reason[256];
  snprintf(reason, sizeof reason, "%s", fallback);
  if (e != 0) ERR_error_string_n(e, reason, sizeof reason);
  ERR_clear_error();
  return reason;
}

// OpenSSL's reason, and the certificate check's when that is what failed
// ("certificate has expired", "hostname mismatch", ...).
Status SslError(const std::string& what, SSL* ssl = nullptr) {
  std::string reason = SslReason("the peer ended the handshake");
  long verify = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
  if (verify != X509_V_OK)
    reason += std::string(" (peer certificate: ") + X509_verify_cert_error_string(verify) + ")";
  return Status::Error(EPROTO, what + ": " + reason);
}

bool IsIpAddress(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

// The server's certificate must name `host`: its IP address or DNS name.
Status ExpectPeerName(SSL* ssl, const std::string& host) {
  bool ok = IsIpAddress(host) ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str())
                              : SSL_set1_host(ssl, host.c_str());
  return ok ? Status::Ok() : SslError("TLS: host name " + host);
}

void NonBlocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

}  // namespace

struct TlsTunnel::Impl {
  // Lets the pump send what the user wrote last (and close_notify), for at
  // most 2 s, then stops it.
  ~Impl() {
    if (pump.joinable()) {
      shutdown(app_fd.get(), SHUT_WR);
      if (finished.get_future().wait_for(std::chrono::seconds(2)) != std::future_status::ready)
        (void)!write(stop_out.get(), "x", 1);
      pump.join();
    }
    if (ssl) SSL_free(ssl);
    if (ctx) SSL_CTX_free(ctx);
  }  // then the descriptors close
  Status Setup(int tcp_fd, const TlsOptions& o, bool server);
  void Pump();
  // One pass over both directions; false once the tunnel is over. Adds what
  // to wait for when nothing could move.
  bool Step(bool& moved, short& tcp_events, short& app_events);
  bool Failed() {  // records OpenSSL's reason (a peer's alert, say); always false
    std::lock_guard lock(error_mu);
    error = SslReason("the connection ended");
    return false;
  }

  SSL_CTX* ctx = nullptr;
  SSL* ssl = nullptr;
  int tcp = -1;                // not owned
  UniqueFd app_fd, pump_fd;    // the socket pair: the user's end, the pump's end
  UniqueFd stop_in, stop_out;  // a pipe: the destructor writes to stop the pump
  std::string to_net, to_app;  // read from one side, not yet written to the other
  bool app_eof = false, net_eof = false;
  std::string peer_subject;
  std::mutex error_mu;
  std::string error;  // why the pump stopped early
  std::promise<void> finished;
  std::thread pump;
};

Status TlsTunnel::Impl::Setup(int tcp_fd, const TlsOptions& o, bool server) {
  tcp = tcp_fd;
  ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
  if (!ctx) return SslError("TLS");
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  if (server && o.cert_file.empty())
    return Status::Error(EINVAL, "a TLS server needs a certificate and a key");
  if (!o.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, o.cert_file.c_str()) != 1)
      return SslError("certificate " + o.cert_file);
    if (SSL_CTX_use_PrivateKey_file(ctx, o.key_file.c_str(), SSL_FILETYPE_PEM) != 1)
      return SslError("key " + o.key_file);
    if (SSL_CTX_check_private_key(ctx) != 1) return SslError("key " + o.key_file);
  }
  if (!o.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, o.ca_file.c_str(), nullptr) != 1)
      return SslError("CA file " + o.ca_file);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  ssl = SSL_new(ctx);
  if (!ssl || SSL_set_fd(ssl, tcp) != 1) return SslError("TLS");
  if (!server && !o.ca_file.empty() && !o.peer_name.empty())
    TXEND_RETURN_IF_ERROR(ExpectPeerName(ssl, o.peer_name));
  SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if ((server ? SSL_accept(ssl) : SSL_connect(ssl)) != 1) return SslError("TLS handshake", ssl);
  peer_subject = tls::PeerCertificateSubject(ssl);
  int pair[2], stop[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
    return Status::Error(errno, std::string("TLS tunnel: ") + std::strerror(errno));
  app_fd.reset(pair[0]);
  pump_fd.reset(pair[1]);
  if (pipe2(stop, O_CLOEXEC) != 0)
    return Status::Error(errno, std::string("TLS tunnel: ") + std::strerror(errno));
  stop_in.reset(stop[0]);
  stop_out.reset(stop[1]);
  NonBlocking(tcp);
  NonBlocking(pump_fd.get());
  pump = std::thread([this] { Pump(); });
  return Status::Ok();
}

bool TlsTunnel::Impl::Step(bool& moved, short& tcp_events, short& app_events) {
  char buf[1 << 16];
  if (to_net.empty() && !app_eof) {  // the user's bytes, to encrypt
    ssize_t n = read(pump_fd.get(), buf, sizeof buf);
    if (n > 0)
      to_net.assign(buf, static_cast<size_t>(n)), moved = true;
    else if (n < 0 && (errno == EAGAIN || errno == EINTR))
      app_events |= POLLIN;
    else
      app_eof = true;
  }
  if (!to_net.empty()) {
    int n = SSL_write(ssl, to_net.data(), static_cast<int>(to_net.size()));
    if (n > 0) {
      to_net.erase(0, static_cast<size_t>(n));
      moved = true;
    } else {
      int err = SSL_get_error(ssl, n);
      if (err == SSL_ERROR_WANT_WRITE)
        tcp_events |= POLLOUT;
      else if (err == SSL_ERROR_WANT_READ)
        tcp_events |= POLLIN;
      else
        return Failed();
    }
  }
  if (to_app.empty() && !net_eof) {  // the peer's bytes, decrypted
    int n = SSL_read(ssl, buf, sizeof buf);
    if (n > 0) {
      to_app.assign(buf, static_cast<size_t>(n));
      moved = true;
    } else {
      int err = SSL_get_error(ssl, n);
      if (err == SSL_ERROR_WANT_READ)
        tcp_events |= POLLIN;
      else if (err == SSL_ERROR_WANT_WRITE)
        tcp_events |= POLLOUT;
      else if (err == SSL_ERROR_ZERO_RETURN)
        net_eof = true, shutdown(pump_fd.get(), SHUT_WR);
      else
        return Failed();
    }
  }
  if (!to_app.empty()) {
    ssize_t n = write(pump_fd.get(), to_app.data(), to_app.size());
    if (n > 0)
      to_app.erase(0, static_cast<size_t>(n)), moved = true;
    else if (n < 0 && (errno == EAGAIN || errno == EINTR))
      app_events |= POLLOUT;
    else
      return false;
  }
  if (app_eof && to_net.empty()) {  // the user is done: so is the connection
    SSL_shutdown(ssl);
    return false;
  }
  return true;
}

// Moves bytes both ways until the connection fails or the tunnel is stopped;
// then the user's end sees the connection end.
void TlsTunnel::Impl::Pump() {
  while (true) {
    bool moved = false;
    short tcp_events = 0, app_events = 0;
    if (!Step(moved, tcp_events, app_events)) break;
    if (moved) continue;
    pollfd p[3] = {
        {tcp, tcp_events, 0}, {pump_fd.get(), app_events, 0}, {stop_in.get(), POLLIN, 0}};
    if (poll(p, 3, -1) < 0 && errno != EINTR) break;
    if (p[2].revents) {
      SSL_shutdown(ssl);  // best effort: close_notify
      break;
    }
  }
  shutdown(pump_fd.get(), SHUT_RDWR);
  finished.set_value();
}

TlsTunnel::TlsTunnel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TlsTunnel::~TlsTunnel() = default;

int TlsTunnel::fd() const { return impl_->app_fd.get(); }

const std::string& TlsTunnel::peer_subject() const { return impl_->peer_subject; }

std::string TlsTunnel::error() const {
  std::lock_guard lock(impl_->error_mu);
  return impl_->error;
}

Result<std::unique_ptr<TlsTunnel>> TlsTunnel::Client(int tcp_fd, const TlsOptions& options) {
  auto impl = std::make_unique<Impl>();
  TXEND_RETURN_IF_ERROR(impl->Setup(tcp_fd, options, false));
  return std::unique_ptr<TlsTunnel>(new TlsTunnel(std::move(impl)));
}

Result<std::unique_ptr<TlsTunnel>> TlsTunnel::Server(int tcp_fd, const TlsOptions& options) {
  auto impl = std::make_unique<Impl>();
  TXEND_RETURN_IF_ERROR(impl->Setup(tcp_fd, options, true));
  return std::unique_ptr<TlsTunnel>(new TlsTunnel(std::move(impl)));
}

}  // namespace txend::toolstack
