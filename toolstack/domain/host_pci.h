// The host's PCI functions a domain may be given: those bound to pciback or
// pci-stub (xend's find_all_assignable_devices), read from sysfs.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "toolstack/config/device_config.h"

namespace txend::toolstack {

// The functions under <sysfs_root>/bus/pci/drivers/{pciback,pci-stub}/, in
// BDF order; none when neither driver is there.
std::vector<PciDevice> AssignablePciDevices(const std::string& sysfs_root);

}  // namespace txend::toolstack
