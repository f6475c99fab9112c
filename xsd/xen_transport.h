// XenTransport: rings on real Xen. Maps an INTRODUCEd domain's xenstore page
// (grant GNTTAB_RESERVED_XENSTORE through libxengnttab, else the gfn INTRODUCE
// gave through libxenforeignmemory), binds its event channel (libxenevtchn), and
// serves dom0's kernel ring (/proc/xen/xsd_kva + /proc/xen/xsd_port). One evtchn
// fd carries every kick and VIRQ_DOM_EXC; domain states come from libxenctrl.
#pragma once

#include <memory>
#include <unordered_map>

#include "xsd/ring_transport.h"

// The libxen handle types, as their C headers declare them.
typedef struct xenevtchn_handle xenevtchn_handle;
typedef struct xengntdev_handle xengnttab_handle;
typedef struct xenforeignmemory_handle xenforeignmemory_handle;
typedef struct xc_interface_core xc_interface;

namespace txend::xsd {

class XenTransport final : public RingTransport {
 public:
  // True when this system runs on Xen with the event-channel device usable.
  static bool Available();
  static Result<std::unique_ptr<XenTransport>> Create();
  ~XenTransport() override;
  XenTransport(const XenTransport&) = delete;
  XenTransport& operator=(const XenTransport&) = delete;

  int fd() const override;
  RingEvents Poll() override;
  Result<std::unique_ptr<Channel>> Open(const Introduction& domain, ConnId conn) override;
  Result<std::unique_ptr<Channel>> OpenDom0(ConnId conn) override;
  DomainState StateOf(uint32_t domid) override;

 private:
  XenTransport() = default;
  // Binds `remote_port` of `domid` and wraps `page`; `unmap` runs when the channel closes.
  Result<std::unique_ptr<Channel>> Bind(uint32_t domid, uint32_t remote_port, void* page,
                                        std::function<void()> unmap, ConnId conn);

  xenevtchn_handle* xce_ = nullptr;
  xengnttab_handle* xgt_ = nullptr;  // null: no gntdev, foreign mapping only
  xenforeignmemory_handle* xfm_ = nullptr;
  xc_interface* xch_ = nullptr;                 // null: domain states unknown (always running)
  int dom_exc_port_ = -1;                       // VIRQ_DOM_EXC, -1 when it could not be bound
  std::unordered_map<uint32_t, ConnId> ports_;  // bound local port -> connection
};

}  // namespace txend::xsd
