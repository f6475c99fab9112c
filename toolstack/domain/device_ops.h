// DeviceOps: attaching devices to running domains and detaching them — xm
// block-attach/-detach, network-attach/-detach — and changing a CD-ROM's
// media. Attach costs 2 transactions (write the nodes; read the backend's
// result), detach 2 (take the backend offline; remove the nodes once it
// closed), a media change 2 (eject, insert). All hold the domain's lock;
// attach and detach write an intent first: recovery removes a half-attached
// device and finishes a detach.
#pragma once

#include <string_view>

#include "base/mutex.h"
#include "sxp/sxp.h"
#include "toolstack/domain/domain_context.h"

namespace txend::toolstack {

class DeviceOps {
 public:
  explicit DeviceOps(DomainContext& ctx) : ctx_(ctx) {}

  // `device` is xend's (vbd ...)/(vif ...) SXP.
  Status AttachDevice(std::string_view ref, const sxp::Value& device);
  // `dev`: a vbd's name (xvdb) or number, a vif's index. Without `force` the
  // backend must close first.
  Status DetachDevice(std::string_view ref, std::string_view type, std::string_view dev,
                      bool force);
  // op=device_configure of a (vbd ...): new media for a read-only CD-ROM drive
  // the domain has (no uname: eject), as xend's BlkifController.reconfigureDevice.
  // Running or only defined; any other change is refused.
  Status ConfigureDevice(std::string_view ref, const sxp::Value& device);
  // PCI passthrough, xend's pci_device_configure: a (pci (dev ...) ...) with
  // (state Initialising) (or none) attaches its functions, (state Closing)
  // detaches them. A function attached must be assignable on this host
  // (host_pci.h) and held by no other running domain. A running domain's
  // pciback device is written again from the new config in one transaction.
  Status ConfigurePci(std::string_view ref, const sxp::Value& pci);

 private:
  Status ChangePci(std::string_view ref, const std::vector<PciDevice>& functions, bool attach);
  // Under the domain's lock (ChangePci).
  Status RewritePciNodes(uint32_t domid, const DomainConfig& config);
  // Takes the backend offline and removes the device's nodes once it reports Closed.
  Status CloseAndRemove(const Operation& op, uint32_t domid, const DeviceRef& device);
  // Removes the device's frontend and backend nodes (missing ones are fine).
  Status RemoveNodes(uint32_t domid, const DeviceRef& device);

  DomainContext& ctx_;
};

}  // namespace txend::toolstack
