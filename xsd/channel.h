// Channel: the byte stream between xsd and one client, whatever carries it — a
// unix socket (socket_channel.h) or a Xen shared ring (ring.h).
#pragma once

#include <cstddef>
#include <sys/types.h>

namespace txend::xsd {

class Channel {
 public:
  virtual ~Channel() = default;
  // Up to `n` bytes into `buf`: >0 bytes read, 0 nothing available now, -1 closed or broken.
  virtual ssize_t Read(char* buf, size_t n) = 0;
  // Up to `n` bytes from `buf`: >=0 bytes taken (0: no room now), -1 broken.
  virtual ssize_t Write(const char* buf, size_t n) = 0;
  // The descriptor the server polls for this channel; -1 for a ring, whose events
  // arrive through its RingTransport.
  virtual int fd() const = 0;
};

}  // namespace txend::xsd
