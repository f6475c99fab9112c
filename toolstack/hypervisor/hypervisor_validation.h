// Argument rules both hypervisor implementations apply before acting, so the
// simulation and real Xen reject the same requests with the same messages.
#pragma once

#include <cstdint>

#include "base/status.h"
#include "toolstack/hypervisor/cpu_set.h"
#include "toolstack/hypervisor/hypervisor.h"

namespace txend::toolstack {

// Most vcpus a domain may have: Xen's HVM_MAX_VCPUS for HVM, a PV limit otherwise.
inline constexpr uint32_t kMaxHvmVcpus = 128;
inline constexpr uint32_t kMaxPvVcpus = 512;

// Whole pages needed for `kib` (rounded up).
inline uint64_t KibToPages(uint64_t kib) { return (kib + kPageKib - 1) / kPageKib; }

// vcpu count in range; explicit domid below kFirstReservedDomId.
Status ValidateCreateRequest(const CreateRequest& request);
// weight 1..65535, cap 0..100*vcpus (as xend checks them).
Status ValidateSchedCredit(const SchedCredit& params, uint32_t vcpus);
// Non-empty, and every CPU below nr_cpus.
Status ValidateAffinity(const CpuSet& cpus, uint32_t nr_cpus);
// vcpu below the domain's vcpu count.
Status ValidateVcpu(DomId domid, uint32_t vcpu, uint32_t vcpus);
// Kernel path non-empty, memory at least 1 MiB and whole MiB (what libxenguest
// builds); the files themselves are checked by CheckKernelFile.
Status ValidatePvBuildRequest(const PvBuildRequest& request);
// HVM: a firmware path; PVH: a kernel path; memory as for PV and above the
// video memory; timer_mode 0..3, tsc_mode 0..2 (Xen 4.17 removed mode 3).
Status ValidateHvmBuildRequest(const HvmBuildRequest& request);

}  // namespace txend::toolstack
