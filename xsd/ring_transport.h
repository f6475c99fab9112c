// RingTransport: where the shared rings of domains come from and how their
// event-channel kicks reach the Server — Xen itself (xen_transport.h) or, in
// tests, pages in memory. The Server polls fd() and calls Poll() when it is ready.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "base/result.h"
#include "xsd/channel.h"
#include "xsd/xenstore.h"

namespace txend::xsd {

// What woke the transport up.
struct RingEvents {
  std::vector<ConnId> kicked;    // connections whose peer kicked its event channel
  bool domains_changed = false;  // some domain shut down or died (Xen's VIRQ_DOM_EXC)
};

enum class DomainState { kRunning, kShutDown, kDead };

class RingTransport {
 public:
  virtual ~RingTransport() = default;
  // Readable when Poll() has events.
  virtual int fd() const = 0;
  virtual RingEvents Poll() = 0;
  // Maps an introduced domain's ring page and binds its event channel; its kicks
  // are reported for `conn`. The channel unbinds and unmaps when destroyed.
  virtual Result<std::unique_ptr<Channel>> Open(const Introduction& domain, ConnId conn) = 0;
  // Dom0's own kernel ring, where the system has one; ENOENT where it has not.
  virtual Result<std::unique_ptr<Channel>> OpenDom0(ConnId conn) = 0;
  virtual DomainState StateOf(uint32_t domid) = 0;
};

}  // namespace txend::xsd
