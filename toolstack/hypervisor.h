// Hypervisor: what the toolstack needs from Xen, behind one interface with
// two implementations — SimHypervisor (sim/) and XenHypervisor (xen/,
// libxenctrl). Domain ids, memory in KiB, times in nanoseconds.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"

namespace txend::toolstack {

// Xen's SHUTDOWN_* codes.
enum class ShutdownReason : uint32_t { kPoweroff = 0, kReboot = 1, kSuspend = 2, kCrash = 3, kWatchdog = 4 };
std::string_view ShutdownReasonName(ShutdownReason r);  // "poweroff", ...

// One domain as the hypervisor sees it.
struct DomainInfo {
  uint32_t domid = 0;
  std::string uuid;
  bool hvm = false;
  bool running = false;
  bool blocked = false;
  bool paused = false;
  bool shutdown = false;
  bool dying = false;
  ShutdownReason shutdown_reason = ShutdownReason::kPoweroff;
  uint64_t memory_kib = 0;
  uint64_t max_memory_kib = 0;
  uint32_t online_vcpus = 0;
  uint32_t max_vcpus = 0;
  uint64_t cpu_time_ns = 0;

  bool crashed() const { return shutdown && shutdown_reason == ShutdownReason::kCrash; }
  // xend's six-letter state: r b p s c d, '-' where not set ("-b----").
  std::string StateString() const;
};

struct VcpuInfo {
  uint32_t vcpu = 0;
  bool online = false;
  bool running = false;
  bool blocked = false;
  uint64_t cpu_time_ns = 0;
  int cpu = -1;               // physical CPU it last ran on
  std::vector<int> affinity;  // physical CPUs it may run on
};

struct PhysInfo {
  uint32_t nr_cpus = 0;
  uint32_t nr_nodes = 1;
  uint32_t sockets_per_node = 1;
  uint32_t cores_per_socket = 1;
  uint32_t threads_per_core = 1;
  uint32_t cpu_mhz = 0;
  uint64_t total_kib = 0;
  uint64_t free_kib = 0;
  std::string hw_caps;
  bool hvm = false;  // virt_caps
};

struct VersionInfo {
  int major = 0;
  int minor = 0;
  std::string extra;      // ".0"
  std::string caps;       // "xen-3.0-x86_64 xen-3.0-x86_32p hvm-3.0-x86_64"
  std::string changeset;
  std::string compiler;
  std::string compile_by;
  std::string compile_date;
  std::string cmdline;
};

struct DomainCreateSpec {
  std::string uuid;
  bool hvm = false;
  uint32_t max_vcpus = 1;
  uint64_t memory_kib = 0;      // initial allocation
  uint64_t max_memory_kib = 0;  // ceiling
};

// A PV kernel to load into a created domain, and the event channels its
// xenstore and console rings will use.
struct PvImage {
  std::string kernel;
  std::string ramdisk;
  std::string cmdline;
  uint32_t store_port = 0;
  uint32_t console_port = 0;
};

// Where the built domain's xenstore and console pages are.
struct BuiltImage {
  uint64_t store_mfn = 0;
  uint64_t console_mfn = 0;
};

struct SchedCredit {
  uint32_t weight = 256;  // 1..65535
  uint32_t cap = 0;       // percent of one CPU; 0 = no cap
  bool operator==(const SchedCredit&) const = default;
};

class Hypervisor {
 public:
  virtual ~Hypervisor() = default;
  virtual std::string name() const = 0;  // "sim" or "xen"

  virtual Result<PhysInfo> GetPhysInfo() = 0;
  virtual Result<VersionInfo> GetVersion() = 0;
  virtual Result<std::vector<DomainInfo>> ListDomains() = 0;
  virtual Result<DomainInfo> GetDomain(uint32_t domid) = 0;

  // Creates an empty, paused domain.
  virtual Result<uint32_t> CreateDomain(const DomainCreateSpec& spec) = 0;
  virtual Result<BuiltImage> BuildPv(uint32_t domid, const PvImage& image) = 0;
  // An unbound event channel in `domid` for `remote_domid` to bind.
  virtual Result<uint32_t> AllocEventChannel(uint32_t domid, uint32_t remote_domid) = 0;

  virtual Status Pause(uint32_t domid) = 0;
  virtual Status Unpause(uint32_t domid) = 0;
  // Asks the hypervisor to shut the domain down now (SCHEDOP_remote_shutdown).
  virtual Status Shutdown(uint32_t domid, ShutdownReason reason) = 0;
  virtual Status Destroy(uint32_t domid) = 0;

  virtual Status SetMaxMemory(uint32_t domid, uint64_t kib) = 0;
  virtual Result<std::vector<VcpuInfo>> GetVcpus(uint32_t domid) = 0;
  virtual Status SetVcpuAffinity(uint32_t domid, uint32_t vcpu, const std::vector<int>& cpus) = 0;
  virtual Result<SchedCredit> GetSchedCredit(uint32_t domid) = 0;
  virtual Status SetSchedCredit(uint32_t domid, const SchedCredit& credit) = 0;

  // Writes the domain's memory and state to `fd` from its current offset
  // (the domain should be suspended). The toolstack writes its header first.
  virtual Status Save(uint32_t domid, int fd) = 0;
  // Creates a paused domain from an image read from `fd`'s current offset.
  virtual Result<uint32_t> Restore(int fd, const DomainCreateSpec& spec) = 0;
  virtual Status DumpCore(uint32_t domid, const std::string& path) = 0;
  // The hypervisor's console ring (xm dmesg); emptied afterwards if `clear`.
  virtual Result<std::string> ConsoleRing(bool clear) = 0;
};

// Parses CPU lists as xm takes them: "0-3,^1,6" -> {0,2,3,6}; "all".
Result<std::vector<int>> ParseCpuList(std::string_view text, int nr_cpus);
std::string FormatCpuList(const std::vector<int>& cpus);

}  // namespace txend::toolstack
