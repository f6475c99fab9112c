#include "toolstack/domain/host_pci.h"

#include <algorithm>
#include <filesystem>
#include <tuple>

namespace txend::toolstack {

std::vector<PciDevice> AssignablePciDevices(const std::string& sysfs_root) {
  std::vector<PciDevice> out;
  for (const char* driver : {"pciback", "pci-stub"}) {
    std::error_code ec;
    std::filesystem::directory_iterator it(sysfs_root + "/bus/pci/drivers/" + driver, ec);
    for (; !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
      std::string name = it->path().filename().string();
      if (name.size() != 12 || name[4] != ':' || name[7] != ':' || name[10] != '.') continue;
      auto pci = ParsePciSpec(name);  // the driver's other entries (bind, slots...) are no BDFs
      if (pci.ok()) out.push_back(*pci);
    }
  }
  auto bdf = [](const PciDevice& d) { return std::tie(d.domain, d.bus, d.slot, d.func); };
  std::sort(out.begin(), out.end(), [&](const auto& a, const auto& b) { return bdf(a) < bdf(b); });
  out.erase(std::unique(out.begin(), out.end(),
                        [&](const auto& a, const auto& b) { return bdf(a) == bdf(b); }),
            out.end());
  return out;
}

}  // namespace txend::toolstack
