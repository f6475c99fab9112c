// XenstoreLayout: the nodes a domain has in xenstore, as xend wrote them —
// /vm/<uuid>, /local/domain/<domid>, and each device's frontend and backend
// directories — computed from a config and the hypervisor's facts. Pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "toolstack/config/domain_config.h"
#include "toolstack/layout/xenbus_state.h"
#include "toolstack/xs/transaction.h"

namespace txend::toolstack {

// One device of a domain: type ("vbd", "vif", "vfb", "vkbd"), device id, and
// its position in the config's list of that kind (vbds, vifs, vfbs).
struct DeviceRef {
  std::string type;
  uint32_t devid = 0;
  size_t index = 0;
  std::string FrontendPath(uint32_t domid) const;
  std::string BackendPath(uint32_t domid, uint32_t backend_domid = 0) const;
  bool operator==(const DeviceRef&) const = default;
};

// Facts about a built domain that the layout records.
struct DomainPlacement {
  uint32_t domid = 0;
  uint64_t store_mfn = 0;
  uint32_t store_port = 0;
  uint64_t console_mfn = 0;
  uint32_t console_port = 0;
  double start_time = 0;  // seconds since the epoch
};

std::string VmPath(const std::string& uuid);  // "/vm/<uuid>"
std::string DomainHome(uint32_t domid);       // "/local/domain/<domid>"

// Every device a config gives a domain, with its device id.
Result<std::vector<DeviceRef>> DevicesOf(const DomainConfig& config);

// All nodes to write when a domain is created: /vm, its home, and every device.
Result<std::vector<xs::Transaction::NodeWrite>> DomainNodes(const DomainConfig& config,
                                                            const DomainPlacement& placement);
// The frontend and backend nodes of one device (for create and device attach).
Result<std::vector<xs::Transaction::NodeWrite>> DeviceNodes(const DomainConfig& config,
                                                            uint32_t domid,
                                                            const DeviceRef& device);
// A domain's PCI passthrough device, as xend's pciif wrote it: one pciback
// device 0 listing every function (dev-N, key-N, vdevfn-N, opts-N, state-N,
// num_devs) and its frontend; none without PCI functions. Not in DevicesOf:
// nothing waits for pciback.
inline constexpr uint32_t kPciDevid = 0;
std::vector<xs::Transaction::NodeWrite> PciNodes(const DomainConfig& config, uint32_t domid);
// "0000:03:00.0", as pciback's dev-N and xm print a function.
std::string PciName(const PciDevice& pci);

// Paths to remove when a domain is gone (its home, its backends, its /vm entry).
std::vector<std::string> DomainPaths(const std::string& uuid, uint32_t domid);

// dom0's backend root, and the device directory "<root>/<type>/<domid>/<devid>"
// of a path at or below one ("" for any other path).
inline constexpr char kBackendRoot[] = "/local/domain/0/backend";
std::string BackendDeviceDir(std::string_view path);

// A vif's device id once it was attached and fixed: kept as (devid N) among the
// vif's extra entries, so it survives the config's SXP round trips.
std::optional<uint32_t> VifDevid(const VifConfig& vif);
void SetVifDevid(VifConfig& vif, uint32_t devid);

}  // namespace txend::toolstack
