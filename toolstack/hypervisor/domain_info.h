// Value types the Hypervisor interface reports: domains, vcpus, the host, the
// hypervisor's version, credit-scheduler parameters. Memory in KiB, time in ns.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"
#include "toolstack/hypervisor/cpu_set.h"
#include "toolstack/hypervisor/uuid.h"

namespace txend::toolstack {

using DomId = uint32_t;
inline constexpr DomId kDom0 = 0;
// Xen's DOMID_FIRST_RESERVED: ordinary domains have ids below it.
inline constexpr DomId kFirstReservedDomId = 0x7FF0;
// x86 page size in KiB; memory is allocated in whole pages.
inline constexpr uint64_t kPageKib = 4;

// Why a domain shut down: Xen's SHUTDOWN_* codes, with the same numbers.
enum class ShutdownReason : uint32_t {
  kPoweroff = 0,
  kReboot = 1,
  kSuspend = 2,
  kCrash = 3,
  kWatchdog = 4,
  kSoftReset = 5,
};
// "poweroff", "reboot", "suspend", "crash", "watchdog", "soft_reset"; "unknown".
std::string_view ShutdownReasonName(ShutdownReason reason);
Result<ShutdownReason> ShutdownReasonFromName(std::string_view name);
Result<ShutdownReason> ShutdownReasonFromCode(uint32_t code);

// One domain as the hypervisor reports it (libxc's xc_dominfo_t). As in libxc,
// a domain that shut down with reason crash reports crashed, not shutdown.
struct DomainInfo {
  DomId domid = 0;
  Uuid uuid;
  bool dying = false;
  bool crashed = false;
  bool shutdown = false;
  bool paused = false;
  bool blocked = false;
  bool running = false;
  bool hvm = false;
  ShutdownReason shutdown_reason = ShutdownReason::kPoweroff;  // if shutdown or crashed
  uint64_t memory_kib = 0;                                     // currently allocated
  uint64_t max_memory_kib = 0;                                 // ceiling set by SetMaxMemory
  uint32_t online_vcpus = 0;
  uint32_t max_vcpu_id = 0;  // highest vcpu number (vcpus - 1)
  uint64_t cpu_time_ns = 0;
  uint32_t ssidref = 0;

  uint32_t MaxVcpus() const { return max_vcpu_id + 1; }
  // xm list's state column, "rbpscd" with '-' for each flag not set: "-b----".
  std::string StateString() const;
  bool operator==(const DomainInfo&) const = default;
};

// One virtual CPU (xen_domctl_getvcpuinfo plus its hard affinity).
struct VcpuInfo {
  uint32_t vcpu = 0;
  bool online = false;
  bool blocked = false;
  bool running = false;
  uint64_t cpu_time_ns = 0;
  uint32_t cpu = 0;  // physical CPU it runs (or last ran) on
  CpuSet affinity;   // physical CPUs it may run on
  bool operator==(const VcpuInfo&) const = default;
};

// The host (xen_sysctl_physinfo), in the units xm info shows.
struct PhysInfo {
  uint32_t nr_cpus = 0;
  uint32_t max_cpu_id = 0;
  uint32_t nr_nodes = 0;
  uint32_t sockets = 0;  // in total, over all nodes
  uint32_t cores_per_socket = 0;
  uint32_t threads_per_core = 0;
  uint32_t cpu_khz = 0;
  uint64_t total_memory_kib = 0;
  uint64_t free_memory_kib = 0;
  std::array<uint32_t, 8> hw_caps{};
  bool hvm = false;  // virt_caps
  bool pv = false;
  bool hap = false;

  // xm info's hw_caps line: eight 8-digit hex words joined by ':'.
  std::string HwCapsString() const;
};

// What xc_version reports, as xm info lists it.
struct VersionInfo {
  uint32_t major = 0;
  uint32_t minor = 0;
  std::string extra;  // ".7"
  std::string caps;   // "xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_64"
  std::string changeset;
  std::string compiler;
  std::string compile_by;
  std::string compile_domain;
  std::string compile_date;
  std::string commandline;
  std::string scheduler;  // "credit", "credit2", ...
  uint64_t pagesize = 0;
  uint64_t virt_start = 0;  // platform_params
};

// Credit-scheduler parameters of one domain. Valid: weight 1..65535,
// cap 0..100*vcpus (percent of one CPU; 0 = uncapped).
struct SchedCredit {
  uint32_t weight = 256;
  uint32_t cap = 0;
  bool operator==(const SchedCredit&) const = default;
};

}  // namespace txend::toolstack
