// Pure translations between libxenctrl's structures and the Hypervisor
// interface's value types, and errno -> Status with messages. No hypercalls:
// everything here is unit-tested without Xen.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "toolstack/hypervisor/hypervisor.h"
#include "toolstack/hypervisor/pvh_acpi_tables.h"
#include "toolstack/hypervisor/xen/xen_headers.h"

namespace txend::toolstack {

DomainInfo DomainInfoFromXen(const xc_domaininfo_t& x);
VcpuInfo VcpuInfoFromXen(const xc_vcpuinfo_t& x, CpuSet affinity);
PhysInfo PhysInfoFromXen(const xc_physinfo_t& x);
// XENVER_version's packed (major << 16 | minor).
void SetVersionNumber(int packed, VersionInfo& version);
// XEN_SCHEDULER_* -> "credit", "credit2", "arinc653", "rtds", "null".
std::string SchedulerName(uint32_t sched_id);
// A fixed-size char array from Xen, which may lack a terminating NUL.
std::string FixedString(const char* chars, size_t size);

// Xen's cpumap: bit i of byte i/8 set for CPU i.
CpuSet CpuSetFromCpumap(const uint8_t* map, size_t bytes);
// EINVAL if a CPU does not fit in `bytes`.
Result<std::vector<uint8_t>> CpumapFromCpuSet(const CpuSet& cpus, size_t bytes);

// The createdomain request for `request` on a host with XEN_SYSCTL_PHYSCAP_*
// `capabilities`, as libxl fills it: PV without emulation, HVM with every
// emulated device but vPCI, PVH with only the local APIC emulated, HAP when
// asked for and available, the highest
// grant-table version the host offers, hypervisor-default grant limits.
Result<xen_domctl_createdomain> CreateDomainConfig(const CreateRequest& request,
                                                   uint32_t capabilities);

// The guest-physical layout of an HVM container, as libxl__build_hvm and
// domain_construct_memmap compute it on Xen 4.17: RAM below the MMIO hole
// (from 1 MiB for HVM, whose firmware owns the first MiB; from 0 for PVH,
// with the special pages reserved, and the ACPI tables' pages as ACPI memory
// when `acpi` is given), the rest above 4 GiB.
struct HvmMemoryLayout {
  uint64_t target_pages = 0;
  uint64_t mmio_size = 0, mmio_start = 0, lowmem_end = 0, highmem_end = 0;
  uint64_t vga_hole_pages = 0;  // HVM: the legacy VGA window
  std::vector<e820entry> e820;
};
HvmMemoryLayout HvmLayout(const HvmBuildRequest& request, const PvhAcpiTables* acpi = nullptr);

// HVM_PARAM_VIRIDIAN for viridian=1: libxl's default enlightenment group.
uint64_t ViridianMask(bool viridian);

PrecopyStats PrecopyStatsFromXen(const precopy_stats& x);
int PrecopyDecisionToXen(PrecopyDecision decision);  // XGS_POLICY_*

// A failed libxc call: the errno kept (EIO when 0) and a message naming the
// call, the domain and the cause: "xc_domain_pause: no such domain 7".
// `detail` (libxc's own last error) is appended when not empty.
Status XenError(std::string_view call, int err, std::string_view detail = "");
Status XenDomainError(std::string_view call, DomId domid, int err, std::string_view detail = "");

}  // namespace txend::toolstack
