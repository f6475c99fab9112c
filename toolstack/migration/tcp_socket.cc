#include "toolstack/migration/tcp_socket.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <linux/tcp.h>  // struct tcp_info with the byte counters (glibc's lacks them)
#include <netinet/in.h>
#include <sys/socket.h>

namespace txend::toolstack {
namespace {

std::string Where(const std::string& host, uint16_t port) {
  return host + ":" + std::to_string(port);
}

// Connects one address within `timeout`; the socket is blocking again afterwards.
Result<UniqueFd> ConnectOne(const addrinfo& ai, std::chrono::milliseconds timeout) {
  UniqueFd fd(
      ::socket(ai.ai_family, ai.ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai.ai_protocol));
  if (!fd) return Status::Error(errno, std::strerror(errno));
  int rc = ::connect(fd.get(), ai.ai_addr, ai.ai_addrlen);
  if (rc != 0 && errno == EINPROGRESS) {
    pollfd p{fd.get(), POLLOUT, 0};
    rc = ::poll(&p, 1, static_cast<int>(timeout.count()));
    int err = 0;
    socklen_t len = sizeof err;
    if (rc == 0)
      err = ETIMEDOUT;
    else if (rc < 0)
      err = errno;
    else
      getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    rc = err == 0 ? 0 : -1;
    errno = err;
  }
  if (rc != 0) {
    int err = errno;
    return Status::Error(err, std::strerror(err));
  }
  ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) & ~O_NONBLOCK);
  int one = 1;
  // Control messages go out at once.
  setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

tcp_info Info(int fd) {
  tcp_info info{};
  socklen_t len = sizeof info;
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return tcp_info{};
  return info;
}

}  // namespace

Result<TcpSocket> TcpSocket::Connect(const std::string& host, uint16_t port,
                                     std::chrono::milliseconds timeout) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found);
  if (rc != 0)
    return Status::Error(EHOSTUNREACH, "cannot resolve '" + host + "': " + gai_strerror(rc));
  Status last = Status::Error(EHOSTUNREACH, "no address for '" + host + "'");
  for (addrinfo* ai = found; ai; ai = ai->ai_next) {
    auto fd = ConnectOne(*ai, timeout);
    if (fd.ok()) {
      ::freeaddrinfo(found);
      return TcpSocket(std::move(*fd));
    }
    last = Status::Error(fd.status().code(),
                         "cannot connect to " + Where(host, port) + ": " + fd.status().message());
  }
  ::freeaddrinfo(found);
  return last;
}

TcpSocket& TcpSocket::operator=(TcpSocket&& other) noexcept {
  if (this != &other) {
    tls_.reset();  // flushes through the socket, so before closing it
    fd_ = std::move(other.fd_);
    timeout_ = other.timeout_;
    tls_ = std::move(other.tls_);
  }
  return *this;
}

TcpSocket::~TcpSocket() {
  tls_.reset();  // flushes through the socket, so before fd_ closes it
}

Status TcpSocket::SetIoTimeout(std::chrono::milliseconds timeout) {
  timeout_ = timeout;
  timeval tv{static_cast<time_t>(timeout.count() / 1000),
             static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
  if (setsockopt(fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
      setsockopt(fd(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0)
    return Status::Error(errno, std::string("setting socket timeouts: ") + std::strerror(errno));
  return Status::Ok();
}

Status TcpSocket::StartTls(bool server, const TlsOptions& options) {
  if (tls_) return Status::Error(EBUSY, "TLS already started");
  TXEND_ASSIGN_OR_RETURN(
      tls_, server ? TlsTunnel::Server(fd_.get(), options) : TlsTunnel::Client(fd_.get(), options));
  return timeout_.count() > 0 ? SetIoTimeout(timeout_) : Status::Ok();
}

uint64_t TcpSocket::BytesAcked() const { return Info(fd_.get()).tcpi_bytes_acked; }

uint64_t TcpSocket::BytesReceived() const { return Info(fd_.get()).tcpi_bytes_received; }

void TcpSocket::Linger(std::chrono::milliseconds limit) {
  if (!fd_ || ::shutdown(fd_.get(), SHUT_WR) != 0) return;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  char buf[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{fd_.get(), POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) return;
    ssize_t n = ::recv(fd_.get(), buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return;
  }
}

void TcpSocket::Shutdown() {
  if (fd_) ::shutdown(fd_.get(), SHUT_RDWR);
}

}  // namespace txend::toolstack
