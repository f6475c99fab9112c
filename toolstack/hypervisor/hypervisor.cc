#include "toolstack/hypervisor/hypervisor.h"

namespace txend::toolstack {

PrecopyDecision DefaultPrecopyPolicy(const PrecopyStats& stats) {
  constexpr uint32_t kMaxIterations = 5;
  constexpr int64_t kTargetDirtyCount = 50;
  bool few_dirty = stats.dirty_count >= 0 && stats.dirty_count < kTargetDirtyCount;
  return few_dirty || stats.iteration >= kMaxIterations ? PrecopyDecision::kStopAndCopy
                                                        : PrecopyDecision::kContinue;
}

Result<std::vector<VcpuInfo>> ListVcpus(Hypervisor& hypervisor, DomId domid) {
  TXEND_ASSIGN_OR_RETURN(DomainInfo info, hypervisor.GetDomainInfo(domid));
  std::vector<VcpuInfo> vcpus;
  for (uint32_t v = 0; v < info.MaxVcpus(); ++v) {
    TXEND_ASSIGN_OR_RETURN(VcpuInfo vcpu, hypervisor.GetVcpuInfo(domid, v));
    vcpus.push_back(std::move(vcpu));
  }
  return vcpus;
}

}  // namespace txend::toolstack
