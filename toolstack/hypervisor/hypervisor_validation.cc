#include "toolstack/hypervisor/hypervisor_validation.h"

#include <string>

namespace txend::toolstack {

Status ValidateCreateRequest(const CreateRequest& request) {
  uint32_t limit = request.hvm_container() ? kMaxHvmVcpus : kMaxPvVcpus;
  if (request.max_vcpus < 1 || request.max_vcpus > limit)
    return Status::Error(EINVAL, "vcpus must be 1.." + std::to_string(limit) + ", not " +
                                     std::to_string(request.max_vcpus));
  if (request.domid >= kFirstReservedDomId)
    return Status::Error(EINVAL, "domain id " + std::to_string(request.domid) +
                                     " is reserved (ids must be below 32752)");
  if (request.max_evtchn_port == 0)
    return Status::Error(EINVAL, "max_evtchn_port must be positive");
  return Status::Ok();
}

Status ValidateSchedCredit(const SchedCredit& params, uint32_t vcpus) {
  if (params.weight < 1 || params.weight > 65535)
    return Status::Error(
        EINVAL, "credit weight " + std::to_string(params.weight) + " out of range 1..65535");
  uint64_t max_cap = 100ull * vcpus;
  if (params.cap > max_cap)
    return Status::Error(EINVAL, "credit cap " + std::to_string(params.cap) + " out of range 0.." +
                                     std::to_string(max_cap) + " (100 per vcpu)");
  return Status::Ok();
}

Status ValidateAffinity(const CpuSet& cpus, uint32_t nr_cpus) {
  if (cpus.Empty()) return Status::Error(EINVAL, "empty cpu affinity");
  if (*cpus.Max() >= nr_cpus)
    return Status::Error(EINVAL, "cpu " + std::to_string(*cpus.Max()) +
                                     " does not exist (host has " + std::to_string(nr_cpus) +
                                     " cpus)");
  return Status::Ok();
}

Status ValidateVcpu(DomId domid, uint32_t vcpu, uint32_t vcpus) {
  if (vcpu >= vcpus)
    return Status::Error(EINVAL, "domain " + std::to_string(domid) + " has no vcpu " +
                                     std::to_string(vcpu) + " (it has " + std::to_string(vcpus) +
                                     ")");
  return Status::Ok();
}

Status ValidatePvBuildRequest(const PvBuildRequest& request) {
  if (request.kernel.empty()) return Status::Error(EINVAL, "no kernel given");
  if (request.memory_kib < 1024)
    return Status::Error(EINVAL, "memory " + std::to_string(request.memory_kib) +
                                     " KiB is too small for a PV guest (minimum 1024 KiB)");
  if (request.memory_kib % 1024)  // libxenguest's builder takes whole MiB
    return Status::Error(EINVAL, "memory " + std::to_string(request.memory_kib) +
                                     " KiB is not a whole number of MiB");
  return Status::Ok();
}

Status ValidateHvmBuildRequest(const HvmBuildRequest& request) {
  bool pvh = request.type == GuestType::kPvh;
  if (request.type == GuestType::kPv)
    return Status::Error(EINVAL, "BuildHvm builds HVM and PVH guests, not PV ones");
  if (pvh && request.kernel.empty()) return Status::Error(EINVAL, "no kernel given");
  if (!pvh && request.firmware.empty()) return Status::Error(EINVAL, "no firmware given");
  std::string guest = pvh ? "a PVH guest" : "an HVM guest";
  if (request.memory_kib < 4096 + request.video_memory_kib)
    return Status::Error(EINVAL, "memory " + std::to_string(request.memory_kib) +
                                     " KiB is too small for " + guest + " (minimum 4096 KiB" +
                                     (pvh ? "" : " besides the video memory") + ")");
  if (request.memory_kib % 1024)
    return Status::Error(EINVAL, "memory " + std::to_string(request.memory_kib) +
                                     " KiB is not a whole number of MiB");
  if (request.timer_mode > 3)
    return Status::Error(EINVAL,
                         "timer_mode " + std::to_string(request.timer_mode) + " out of range 0..3");
  if (request.tsc_mode > 2)
    return Status::Error(EINVAL, "tsc_mode " + std::to_string(request.tsc_mode) +
                                     " out of range 0..2 (Xen 4.17 removed native_paravirt)");
  return Status::Ok();
}

}  // namespace txend::toolstack
