// Hypervisor: what the toolstack needs from Xen, behind one small interface
// with two implementations — SimHypervisor (sim/, the default wherever
// /dev/xen/privcmd is absent) and XenHypervisor (xen/, libxenctrl and
// libxenguest). Every call returns Status/Result with an errno code: ESRCH for
// an unknown domain, EINVAL for bad arguments, ENOMEM when the host lacks
// memory, EPERM, EBUSY, ... and a message naming what was wrong.
// OpenHypervisor (open_hypervisor.h) picks one at run time.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "toolstack/hypervisor/cpu_set.h"
#include "toolstack/hypervisor/domain_info.h"

namespace txend::toolstack {

// What kind of guest a domain holds: paravirtualised, a hardware VM with
// emulated devices (a device model) and firmware, or a hardware container
// booting a PVH kernel directly (only the local APIC emulated, by Xen).
enum class GuestType { kPv, kHvm, kPvh };

// A new domain (xen_domctl_createdomain). It starts paused, with no memory
// and `max_vcpus` vcpus; the toolstack then sets limits and builds or restores it.
struct CreateRequest {
  DomId domid = 0;  // 0: the next free id, as Xen picks it
  Uuid uuid;
  uint32_t ssidref = 0;
  GuestType type = GuestType::kPv;
  bool hap = true;  // HVM and PVH: hardware-assisted paging
  bool hvm_container() const { return type != GuestType::kPv; }
  uint32_t max_vcpus = 1;
  uint32_t max_evtchn_port = 1023;
};

// Loading a PV kernel into a created domain (libxenguest's xc_dom_* builder).
// The event channels must be unbound ports of the domain (AllocUnboundPort).
struct PvBuildRequest {
  std::string kernel;   // path of an ELF or bzImage kernel, maybe compressed
  std::string ramdisk;  // optional path
  std::string cmdline;
  std::string features;     // Xen feature string, usually empty
  uint64_t memory_kib = 0;  // whole MiB
  uint32_t store_port = 0;
  uint32_t console_port = 0;
  DomId store_domid = kDom0;
  DomId console_domid = kDom0;
};

// Building an HVM or PVH guest into a created HVM container (libxl__build_hvm
// and libxl__arch_domain_create on Xen 4.17). HVM: `firmware` (hvmloader) is
// loaded and boots `system_firmware` (SeaBIOS) on the PC a device model
// emulates; PVH: `kernel` (an ELF with a PVH entry point) is loaded directly
// with its ramdisk and command line. The event channels are as for BuildPv.
struct HvmBuildRequest {
  GuestType type = GuestType::kHvm;  // kHvm or kPvh
  std::string firmware;              // HVM: hvmloader's path
  std::string system_firmware;       // HVM: the BIOS image hvmloader starts (qemu-xen's SeaBIOS)
  std::string kernel, ramdisk, cmdline;  // PVH
  uint64_t memory_kib = 0;               // whole MiB, video memory included
  uint64_t video_memory_kib = 0;         // HVM: the emulated VGA's share of memory_kib
  uint64_t vcpu_avail = ~uint64_t{0};    // vcpus online at boot (bit N = vcpu N)
  bool apic = true;                      // HVM: in hvmloader's hvm_info table
  bool hpet = false, vpt_align = true, viridian = false;  // HVM: HVM_PARAM_*
  uint32_t timer_mode = 1;                                // HVM_PARAM_TIMER_MODE (0..3)
  uint32_t tsc_mode = 0;     // 0 default, 1 always emulate, 2 native (xc_domain_set_tsc_info)
  int64_t rtc_offset_s = 0;  // the guest clock's offset from UTC (rtc_timeoffset + localtime)
  uint32_t store_port = 0;
  uint32_t console_port = 0;
  DomId store_domid = kDom0;
  DomId console_domid = kDom0;
};

// Where the built (or restored) guest's xenstore and console rings live: the
// frame numbers the toolstack introduces to xenstored and writes to xenstore.
struct GuestRings {
  uint64_t store_mfn = 0;
  uint64_t console_mfn = 0;
};

// Progress of a live save between memory rounds (libxenguest's precopy_stats).
struct PrecopyStats {
  uint32_t iteration = 0;      // rounds completed
  uint64_t total_written = 0;  // pages sent so far
  int64_t dirty_count = -1;    // pages waiting to be sent; -1 if unknown
};
enum class PrecopyDecision { kContinue, kStopAndCopy, kAbort };
// libxenguest's default: stop after 5 rounds or once fewer than 50 pages are dirty.
PrecopyDecision DefaultPrecopyPolicy(const PrecopyStats& stats);

// Saving a domain's memory and vcpu state to a stream. `suspend` must get the
// guest into the shutdown(suspend) state (for a PV guest: write "suspend" to
// control/shutdown and wait for @releaseDomain); it is called once, while the
// interface is not locked, so it may call back into the hypervisor.
struct SaveRequest {
  bool live = false;  // copy memory while the guest runs, then suspend
  std::function<Status()> suspend;
  // Live only: consulted between rounds; empty means DefaultPrecopyPolicy.
  std::function<PrecopyDecision(const PrecopyStats&)> precopy_policy;
  // HVM and PVH domains: switches the device model's dirty-page tracking on
  // (before the memory) and off (after), as libxc asks for every such save;
  // empty when the domain has no device model (PVH).
  std::function<Status(bool enable)> device_model_logdirty;
};

// Restoring a save stream into a freshly created, empty domain. The domain
// ends up paused, ready to be unpaused.
struct RestoreRequest {
  uint32_t store_port = 0;
  uint32_t console_port = 0;
  DomId store_domid = kDom0;
  DomId console_domid = kDom0;
};

class Hypervisor {
 public:
  virtual ~Hypervisor() = default;
  virtual std::string_view Name() const = 0;  // "sim" or "xen"

  // The host.
  virtual Result<VersionInfo> Version() = 0;
  virtual Result<PhysInfo> Physinfo() = 0;

  // Domains.
  virtual Result<DomId> CreateDomain(const CreateRequest& request) = 0;
  virtual Result<DomainInfo> GetDomainInfo(DomId domid) = 0;
  virtual Result<std::vector<DomainInfo>> ListDomains() = 0;  // by domid
  virtual Status SetMaxMemory(DomId domid, uint64_t kib) = 0;
  // Shadow / HAP paging pool (xend's shadow_memory), rounded up to pages.
  virtual Status SetShadowMemory(DomId domid, uint64_t kib) = 0;
  // Pause nests (Xen's controller pause count); Unpause of an unpaused domain is EINVAL.
  virtual Status Pause(DomId domid) = 0;
  virtual Status Unpause(DomId domid) = 0;
  // Shuts the domain down from outside (SCHEDOP_remote_shutdown); a domain
  // already shut down keeps its first reason.
  virtual Status Shutdown(DomId domid, ShutdownReason reason) = 0;
  // Lets a domain in shutdown(suspend) run again (checkpoint, failed save).
  virtual Status Resume(DomId domid) = 0;
  virtual Status Destroy(DomId domid) = 0;
  // Whether the guest acts on xenstore's control/shutdown itself: a PV guest
  // always, a hardware container once its PV drivers set HVM_PARAM_CALLBACK_IRQ
  // (libxl's test before a suspend).
  virtual Result<bool> HasPvDrivers(DomId domid) = 0;

  // Vcpus and scheduling.
  virtual Result<VcpuInfo> GetVcpuInfo(DomId domid, uint32_t vcpu) = 0;
  virtual Status SetVcpuAffinity(DomId domid, uint32_t vcpu, const CpuSet& cpus) = 0;
  virtual Result<SchedCredit> GetSchedCredit(DomId domid) = 0;
  virtual Status SetSchedCredit(DomId domid, const SchedCredit& params) = 0;

  // An unbound event channel port of `domid` that `remote` may bind.
  virtual Result<uint32_t> AllocUnboundPort(DomId domid, DomId remote) = 0;

  // Images.
  virtual Result<GuestRings> BuildPv(DomId domid, const PvBuildRequest& request) = 0;
  virtual Result<GuestRings> BuildHvm(DomId domid, const HvmBuildRequest& request) = 0;
  // Writes a self-delimiting stream at fd's position; the domain is left in
  // shutdown(suspend) for the caller to destroy or Resume.
  virtual Status Save(DomId domid, int fd, const SaveRequest& request) = 0;
  // Reads exactly one stream from fd (no further), into an empty domain.
  virtual Result<GuestRings> Restore(DomId domid, int fd, const RestoreRequest& request) = 0;
  virtual Status DumpCore(DomId domid, const std::string& path) = 0;
  // The hypervisor's console ring (xm dmesg); cleared afterwards if `clear`.
  virtual Result<std::string> ReadConsoleRing(bool clear) = 0;
};

// Every vcpu of a domain, in order.
Result<std::vector<VcpuInfo>> ListVcpus(Hypervisor& hypervisor, DomId domid);

}  // namespace txend::toolstack
