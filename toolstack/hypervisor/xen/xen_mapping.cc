#include "toolstack/hypervisor/xen/xen_mapping.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "toolstack/hypervisor/hypervisor_validation.h"

namespace txend::toolstack {
namespace {

uint64_t PagesToKib(uint64_t pages) {
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  return pages > kMax / kPageKib ? kMax : pages * kPageKib;
}

std::string Cause(int err) {
  if (err == EPERM || err == EACCES) return "permission denied (txend must run as root in dom0)";
  return std::strerror(err);
}

}  // namespace

DomainInfo DomainInfoFromXen(const xc_domaininfo_t& x) {
  DomainInfo d;
  d.domid = x.domain;
  std::memcpy(d.uuid.bytes.data(), x.handle, d.uuid.bytes.size());
  d.dying = x.flags & XEN_DOMINF_dying;
  d.hvm = x.flags & XEN_DOMINF_hvm_guest;
  d.shutdown = x.flags & XEN_DOMINF_shutdown;
  d.paused = x.flags & XEN_DOMINF_paused;
  d.blocked = x.flags & XEN_DOMINF_blocked;
  d.running = x.flags & XEN_DOMINF_running;
  d.shutdown_reason =
      static_cast<ShutdownReason>((x.flags >> XEN_DOMINF_shutdownshift) & XEN_DOMINF_shutdownmask);
  if (d.shutdown && d.shutdown_reason == ShutdownReason::kCrash) {  // as libxc reports it
    d.shutdown = false;
    d.crashed = true;
  }
  if (!d.shutdown && !d.crashed) d.shutdown_reason = ShutdownReason::kPoweroff;
  d.memory_kib = PagesToKib(x.tot_pages);
  d.max_memory_kib = PagesToKib(x.max_pages);
  d.online_vcpus = x.nr_online_vcpus;
  d.max_vcpu_id = x.max_vcpu_id;
  d.cpu_time_ns = x.cpu_time;
  d.ssidref = x.ssidref;
  return d;
}

VcpuInfo VcpuInfoFromXen(const xc_vcpuinfo_t& x, CpuSet affinity) {
  VcpuInfo v;
  v.vcpu = x.vcpu;
  v.online = x.online;
  v.blocked = x.blocked;
  v.running = x.running;
  v.cpu_time_ns = x.cpu_time;
  v.cpu = x.cpu;
  v.affinity = std::move(affinity);
  return v;
}

PhysInfo PhysInfoFromXen(const xc_physinfo_t& x) {
  PhysInfo p;
  p.nr_cpus = x.nr_cpus;
  p.max_cpu_id = x.max_cpu_id;
  p.nr_nodes = x.nr_nodes;
  p.cores_per_socket = x.cores_per_socket;
  p.threads_per_core = x.threads_per_core;
  uint64_t per_socket = uint64_t{x.cores_per_socket} * x.threads_per_core;
  p.sockets = per_socket ? std::max<uint32_t>(static_cast<uint32_t>(x.nr_cpus / per_socket), 1) : 1;
  p.cpu_khz = x.cpu_khz;
  p.total_memory_kib = PagesToKib(x.total_pages);
  p.free_memory_kib = PagesToKib(x.free_pages + x.scrub_pages);
  for (size_t i = 0; i < p.hw_caps.size(); ++i) p.hw_caps[i] = x.hw_cap[i];
  p.hvm = x.capabilities & XEN_SYSCTL_PHYSCAP_hvm;
  p.pv = x.capabilities & XEN_SYSCTL_PHYSCAP_pv;
  p.hap = x.capabilities & XEN_SYSCTL_PHYSCAP_hap;
  return p;
}

void SetVersionNumber(int packed, VersionInfo& version) {
  version.major = static_cast<uint32_t>(packed) >> 16;
  version.minor = static_cast<uint32_t>(packed) & 0xffff;
}

std::string SchedulerName(uint32_t sched_id) {
  switch (sched_id) {
    case XEN_SCHEDULER_CREDIT:
      return "credit";
    case XEN_SCHEDULER_CREDIT2:
      return "credit2";
    case XEN_SCHEDULER_ARINC653:
      return "arinc653";
    case XEN_SCHEDULER_RTDS:
      return "rtds";
    case XEN_SCHEDULER_NULL:
      return "null";
  }
  return "unknown";
}

std::string FixedString(const char* chars, size_t size) {
  return std::string(chars, strnlen(chars, size));
}

CpuSet CpuSetFromCpumap(const uint8_t* map, size_t bytes) {
  CpuSet set;
  for (size_t i = 0; i < bytes * 8; ++i)
    if (map[i / 8] & (1u << (i % 8))) set.Add(static_cast<uint32_t>(i));
  return set;
}

Result<std::vector<uint8_t>> CpumapFromCpuSet(const CpuSet& cpus, size_t bytes) {
  std::vector<uint8_t> map(bytes, 0);
  for (uint32_t cpu : cpus.ToVector()) {
    if (cpu >= bytes * 8)
      return Status::Error(EINVAL, "cpu " + std::to_string(cpu) + " beyond the hypervisor's " +
                                       std::to_string(bytes * 8) + " cpus");
    map[cpu / 8] = static_cast<uint8_t>(map[cpu / 8] | (1u << (cpu % 8)));
  }
  return map;
}

Result<xen_domctl_createdomain> CreateDomainConfig(const CreateRequest& request,
                                                   uint32_t capabilities) {
  TXEND_RETURN_IF_ERROR(ValidateCreateRequest(request));
  bool hvm = request.hvm_container();
  if (hvm && !(capabilities & XEN_SYSCTL_PHYSCAP_hvm))
    return Status::Error(ENOTSUP, std::string("this host cannot run ") +
                                      (request.type == GuestType::kPvh ? "PVH" : "HVM") +
                                      " guests (no VMX/SVM, or disabled)");
  if (!hvm && !(capabilities & XEN_SYSCTL_PHYSCAP_pv))
    return Status::Error(ENOTSUP, "this Xen was built without PV guest support");
  xen_domctl_createdomain c{};
  c.ssidref = request.ssidref;
  std::memcpy(c.handle, request.uuid.bytes.data(), sizeof c.handle);
  if (hvm) {
    c.flags = XEN_DOMCTL_CDF_hvm;
    if (request.hap && (capabilities & XEN_SYSCTL_PHYSCAP_hap)) c.flags |= XEN_DOMCTL_CDF_hap;
    c.arch.emulation_flags =
        request.type == GuestType::kPvh ? XEN_X86_EMU_LAPIC : XEN_X86_EMU_ALL & ~XEN_X86_EMU_VPCI;
  }
  c.max_vcpus = request.max_vcpus;
  c.max_evtchn_port = request.max_evtchn_port;
  c.max_grant_frames = -1;  // the hypervisor's defaults
  c.max_maptrack_frames = -1;
  c.grant_opts = XEN_DOMCTL_GRANT_version((capabilities & XEN_SYSCTL_PHYSCAP_gnttab_v2) ? 2 : 1);
  return c;
}

namespace {

constexpr uint64_t kPageShift = 12;
constexpr uint64_t k4GiB = uint64_t{1} << 32;
constexpr uint64_t kLowMemStartHvm = 0x100000;  // libxl's GUEST_LOW_MEM_START_DEFAULT
constexpr uint64_t kVgaHolePages = 0x20;        // libxl's LIBXL_VGA_HOLE_SIZE (0xA0000-0xBFFFF)

// PVH: the hole must hold the local APIC page, the ACPI tables and the special pages.
uint64_t PvhMmioSize() {
  uint64_t special = uint64_t{X86_HVM_END_SPECIAL_REGION - X86_HVM_NR_SPECIAL_PAGES} << kPageShift;
  return k4GiB - std::min({special, kLocalApicAddress, kAcpiInfoAddress});
}

}  // namespace

HvmMemoryLayout HvmLayout(const HvmBuildRequest& request, const PvhAcpiTables* acpi) {
  bool pvh = request.type == GuestType::kPvh;
  HvmMemoryLayout l;
  uint64_t mem_bytes = (request.memory_kib - request.video_memory_kib) << 10;
  l.target_pages = mem_bytes >> kPageShift;
  l.mmio_size = pvh ? PvhMmioSize() : HVM_BELOW_4G_MMIO_LENGTH;
  l.mmio_start = k4GiB - l.mmio_size;
  l.lowmem_end = mem_bytes;
  if (l.lowmem_end > l.mmio_start) {
    l.highmem_end = k4GiB + (l.lowmem_end - l.mmio_start);
    l.lowmem_end = l.mmio_start;
  }
  l.vga_hole_pages = pvh ? 0 : kVgaHolePages;
  uint64_t low_start = pvh ? 0 : kLowMemStartHvm;
  l.e820.push_back({low_start, l.lowmem_end - low_start, E820_RAM});
  if (pvh) {
    uint64_t special = uint64_t{X86_HVM_END_SPECIAL_REGION - X86_HVM_NR_SPECIAL_PAGES};
    l.e820.push_back(
        {special << kPageShift, uint64_t{X86_HVM_NR_SPECIAL_PAGES} << kPageShift, E820_RESERVED});
  }
  if (acpi) {
    for (const AcpiModule* m : {&acpi->rsdp, &acpi->info, &acpi->tables}) {
      uint64_t in_page = m->guest_address & ((uint64_t{1} << kPageShift) - 1);
      l.e820.push_back({m->guest_address - in_page, m->bytes.size() + in_page, E820_ACPI});
    }
  }
  if (l.highmem_end) l.e820.push_back({k4GiB, l.highmem_end - k4GiB, E820_RAM});
  return l;
}

uint64_t ViridianMask(bool viridian) {
  if (!viridian) return 0;
  return HVMPV_base_freq | HVMPV_time_ref_count | HVMPV_apic_assist | HVMPV_crash_ctl;
}

PrecopyStats PrecopyStatsFromXen(const precopy_stats& x) {
  return {x.iteration, x.total_written, x.dirty_count};
}

int PrecopyDecisionToXen(PrecopyDecision decision) {
  switch (decision) {
    case PrecopyDecision::kContinue:
      return XGS_POLICY_CONTINUE_PRECOPY;
    case PrecopyDecision::kStopAndCopy:
      return XGS_POLICY_STOP_AND_COPY;
    case PrecopyDecision::kAbort:
      return XGS_POLICY_ABORT;
  }
  return XGS_POLICY_ABORT;
}

Status XenError(std::string_view call, int err, std::string_view detail) {
  std::string message = std::string(call) + ": " + (err ? Cause(err) : "failed");
  if (!detail.empty()) message += " [" + std::string(detail) + "]";
  return Status::Error(err ? err : EIO, message);
}

Status XenDomainError(std::string_view call, DomId domid, int err, std::string_view detail) {
  if (err == ESRCH) {
    std::string message = std::string(call) + ": no such domain " + std::to_string(domid);
    if (!detail.empty()) message += " [" + std::string(detail) + "]";
    return Status::Error(ESRCH, message);
  }
  return XenError(std::string(call) + " (domain " + std::to_string(domid) + ")", err, detail);
}

}  // namespace txend::toolstack
