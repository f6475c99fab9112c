#include "toolstack/open_hypervisor.h"

#include <unistd.h>

#include "toolstack/hypervisor/xen/xen_hypervisor.h"

namespace txend::toolstack {

Result<HypervisorKind> ParseHypervisorKind(std::string_view name) {
  if (name == "auto") return HypervisorKind::kAuto;
  if (name == "sim") return HypervisorKind::kSim;
  if (name == "xen") return HypervisorKind::kXen;
  return Status::Error(EINVAL,
                       "unknown hypervisor '" + std::string(name) + "' (want auto, sim or xen)");
}

HypervisorKind ResolveHypervisorKind(HypervisorKind kind, const std::string& privcmd_path) {
  if (kind != HypervisorKind::kAuto) return kind;
  return ::access(privcmd_path.c_str(), F_OK) == 0 ? HypervisorKind::kXen : HypervisorKind::kSim;
}

Result<std::unique_ptr<Hypervisor>> OpenHypervisor(const HypervisorOptions& options) {
  if (ResolveHypervisorKind(options.kind, options.privcmd_path) == HypervisorKind::kSim)
    return std::unique_ptr<Hypervisor>(std::make_unique<SimHypervisor>(options.sim));
  TXEND_ASSIGN_OR_RETURN(auto xen, XenHypervisor::Open());
  return std::unique_ptr<Hypervisor>(std::move(xen));
}

}  // namespace txend::toolstack
