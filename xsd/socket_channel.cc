#include "xsd/socket_channel.h"

#include <unistd.h>

#include <cerrno>
#include <sys/socket.h>

namespace txend::xsd {

ssize_t SocketChannel::Read(char* buf, size_t n) {
  ssize_t got = read(fd_.get(), buf, n);
  if (got > 0) return got;
  if (got < 0 && (errno == EAGAIN || errno == EINTR)) return 0;
  return -1;  // end of stream or error
}

ssize_t SocketChannel::Write(const char* buf, size_t n) {
  while (true) {
    ssize_t sent = send(fd_.get(), buf, n, MSG_NOSIGNAL);
    if (sent >= 0) return sent;
    if (errno == EINTR) continue;
    return errno == EAGAIN ? 0 : -1;
  }
}

}  // namespace txend::xsd
