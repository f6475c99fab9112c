// OpenHypervisor: the Hypervisor txend runs on — real Xen where
// /dev/xen/privcmd exists, the simulation elsewhere, or as forced.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "base/result.h"
#include "toolstack/hypervisor/hypervisor.h"
#include "toolstack/hypervisor/sim/sim_hypervisor.h"

namespace txend::toolstack {

enum class HypervisorKind { kAuto, kSim, kXen };
// "auto", "sim", "xen".
Result<HypervisorKind> ParseHypervisorKind(std::string_view name);

struct HypervisorOptions {
  HypervisorKind kind = HypervisorKind::kAuto;
  SimOptions sim;
  std::string privcmd_path = "/dev/xen/privcmd";  // what kAuto looks for
};

// kSim or kXen as given; kAuto becomes kXen when privcmd_path exists, else kSim.
HypervisorKind ResolveHypervisorKind(HypervisorKind kind, const std::string& privcmd_path);
Result<std::unique_ptr<Hypervisor>> OpenHypervisor(const HypervisorOptions& options);

}  // namespace txend::toolstack
