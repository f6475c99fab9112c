#include "tests/support/raw_wire.h"

#include <unistd.h>

#include "tests/support/sockets.h"

namespace txend::testing {

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
