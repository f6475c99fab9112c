#include "tests/support/raw_wire.h"

#include <string.h>
#include <unistd.h>

#include <sys/socket.h>
#include <sys/un.h>

namespace txend::testing {

int DialUnix(const std::string& path, int timeout_s) {
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path) return -1;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, path.c_str(), path.size());
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  timeval tv{timeout_s, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
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

namespace {

bool ReadExactly(int fd, char* out, size_t n) {
  while (n > 0) {
    ssize_t got = read(fd, out, n);
    if (got <= 0) return false;
    out += got;
    n -= static_cast<size_t>(got);
  }
  return true;
}

}  // namespace

std::optional<wire::Message> ReceiveMessage(int fd) {
  wire::Message m;
  if (!ReadExactly(fd, reinterpret_cast<char*>(&m.header), sizeof m.header)) return std::nullopt;
  if (m.header.len > wire::kPayloadMax) return std::nullopt;
  m.payload.resize(m.header.len);
  if (!ReadExactly(fd, m.payload.data(), m.header.len)) return std::nullopt;
  return m;
}

std::optional<wire::Message> AskRaw(int fd, wire::MsgType type, const std::string& payload,
                                    uint32_t tx_id, uint32_t req_id) {
  if (!SendAll(fd, wire::Encode(type, req_id, tx_id, payload))) return std::nullopt;
  while (auto m = ReceiveMessage(fd))
    if (m->type() != wire::MsgType::kWatchEvent) return m;
  return std::nullopt;
}

}  // namespace txend::testing
