// Guest block device names and their device numbers, as xend's
// xen/util/blkif.py blkdev_name_to_number computes them (xvda -> 51712).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace txend::toolstack {

// The number of a device name: "xvda1", "/dev/hdc", "sdb2", "xvdq", "xvdaa",
// or a number ("51713", "0xca01"). nullopt for names xend does not know.
std::optional<uint32_t> BlockDeviceNumber(std::string_view name);

// The number of a vbd's `dev` entry, which may carry an "ioemu:" prefix and a
// ":disk"/":cdrom" suffix ("ioemu:hda", "hdc:cdrom").
std::optional<uint32_t> VbdDeviceNumber(std::string_view dev);

}  // namespace txend::toolstack
