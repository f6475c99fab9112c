// Test support: plain client and listening sockets on unix paths and on loopback TCP, for
// tests that speak to a daemon below its client libraries.
#pragma once

#include <cstdint>
#include <string>

#include "base/unique_fd.h"

namespace txend::testing {

// A connected unix stream socket (receive timeout `timeout_s`), or -1.
int DialUnix(const std::string& path, int timeout_s = 5);
// A TCP socket connected to 127.0.0.1:`port` (receive timeout `timeout_s`), or -1.
int DialTcp(uint16_t port, int timeout_s = 5);
// The same from another loopback address (`source`, e.g. "127.0.0.2"): a second TCP peer.
int DialTcpFrom(const std::string& source, uint16_t port, int timeout_s = 5);
// Sends every byte; false when the peer is gone.
bool SendAll(int fd, const std::string& bytes);

// A TCP socket listening on 127.0.0.1 at a port the kernel picked (fd invalid on failure).
struct LoopbackListener {
  UniqueFd fd;
  uint16_t port = 0;
};
LoopbackListener ListenOnLoopback();

}  // namespace txend::testing
