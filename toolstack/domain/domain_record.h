// What queries report: DomainRecord (one domain, its config shared with the
// registry) and NodeRecord (the host).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "toolstack/config/domain_config.h"
#include "toolstack/domain/domain_registry.h"
#include "toolstack/domain/power_state.h"
#include "toolstack/hypervisor/domain_info.h"
#include "toolstack/layout/xenbus_state.h"
#include "toolstack/layout/xenstore_layout.h"

namespace txend::toolstack {

// A device as xenstore shows it.
struct DeviceStatus {
  DeviceRef ref;
  XenbusState backend_state = XenbusState::kUnknown;
  XenbusState frontend_state = XenbusState::kUnknown;
  std::string backend_path;
};

// A domain: its config (the registry's, shared, never copied), hypervisor
// facts (absent for an inactive managed domain) and what xenstore says.
struct DomainRecord {
  std::shared_ptr<const DomainConfig> config;
  // The registry's printed config (shared); null for Domain-0: printed when needed.
  std::shared_ptr<const PrintedConfig> printed;
  std::optional<DomainInfo> info;
  bool managed = false;
  double start_time = 0;
  uint64_t memory_target_kib = 0;     // memory/target in xenstore; 0 when not read
  std::vector<DeviceStatus> devices;  // states kUnknown until read
  std::string vnc_location;           // HVM: "127.0.0.1:5900" once its device model serves VNC
  std::string console_tty;            // console/tty: the pty xenconsoled (or the simulator) serves

  PowerState power_state() const { return PowerStateOf(info); }

  // A registered domain's record, before anything is read from xenstore.
  static DomainRecord Of(const RegisteredDomain& d, std::optional<DomainInfo> info);
  // Domain-0's record: the registry holds no config for it, the hypervisor's facts make one.
  static DomainRecord Dom0(const DomainInfo& info);
};

// Totals for `xm info` and GET /xend/node.
struct NodeRecord {
  PhysInfo phys;
  VersionInfo version;
  std::string hypervisor;  // "sim" or "xen"
};

}  // namespace txend::toolstack
