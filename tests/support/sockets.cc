#include "tests/support/sockets.h"

#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

namespace txend::testing {
namespace {

sockaddr_in Loopback(uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

// Connects a new socket of `family` (bound to `source` when given) to `addr`; -1 on failure.
int Connect(int family, const sockaddr* addr, socklen_t len, int timeout_s,
            const sockaddr_in* source = nullptr) {
  UniqueFd fd(socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return -1;
  if (source && bind(fd.get(), reinterpret_cast<const sockaddr*>(source), sizeof *source) != 0)
    return -1;
  if (connect(fd.get(), addr, len) != 0) return -1;
  timeval tv{timeout_s, 0};
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd.release();
}

}  // namespace

int DialUnix(const std::string& path, int timeout_s) {
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path) return -1;
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, path.c_str(), path.size());
  return Connect(AF_UNIX, reinterpret_cast<sockaddr*>(&addr), sizeof addr, timeout_s);
}

int DialTcp(uint16_t port, int timeout_s) {
  sockaddr_in addr = Loopback(port);
  return Connect(AF_INET, reinterpret_cast<sockaddr*>(&addr), sizeof addr, timeout_s);
}

int DialTcpFrom(const std::string& source, uint16_t port, int timeout_s) {
  sockaddr_in from{};
  from.sin_family = AF_INET;
  if (inet_pton(AF_INET, source.c_str(), &from.sin_addr) != 1) return -1;
  sockaddr_in addr = Loopback(port);
  return Connect(AF_INET, reinterpret_cast<sockaddr*>(&addr), sizeof addr, timeout_s, &from);
}

bool SendAll(int fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

LoopbackListener ListenOnLoopback() {
  LoopbackListener l;
  l.fd.reset(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr = Loopback(0);
  socklen_t len = sizeof addr;
  if (!l.fd || bind(l.fd.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      listen(l.fd.get(), 16) != 0 ||
      getsockname(l.fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    l.fd.reset();
    return l;
  }
  l.port = ntohs(addr.sin_port);
  return l;
}

}  // namespace txend::testing
