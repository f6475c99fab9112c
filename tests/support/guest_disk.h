// Test support: a PV guest's disk image as an installer leaves it — an ext2
// filesystem (made with mkfs.ext2 -d: no root, no loop mounts) holding /boot
// with kernels, a ramdisk and a GRUB legacy menu.lst, behind an MBR partition
// table or as a whole-disk filesystem — for pygrub to read.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/result.h"

namespace txend::testing {

struct GuestDisk {
  // Files by absolute path inside the filesystem.
  std::map<std::string, std::vector<uint8_t>> files;
  bool partitioned = true;  // one Linux partition at 1 MiB; false: filesystem at 0
  uint32_t size_mib = 8;
};

// /boot/vmlinuz-guest (an x86-64 ELF kernel), /boot/initrd.img-guest,
// /boot/notakernel (text) and /boot/grub/menu.lst with `timeout` and three
// entries: 0 "Guest Linux" (kernel and initrd, root=/dev/xvda1 ro quiet),
// 1 "Single user" (kernel, args single), 2 "Broken" (notakernel).
GuestDisk StandardGuestDisk(int timeout = 5);

// The kernel StandardGuestDisk puts at /boot/vmlinuz-guest.
std::vector<uint8_t> GuestKernelBytes();

// Writes the image to `path`; returns `path`.
Result<std::string> WriteGuestDisk(const GuestDisk& disk, const std::string& path);

}  // namespace txend::testing
