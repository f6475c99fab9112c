// The command line and environment of an HVM guest's device model, as libxl
// (libxl__build_device_model_args_new, Xen 4.17) starts Debian's qemu-system-xen:
// QMP on a unix socket, the emulated PC from the config, IDE disks and
// CD-ROMs, emulated NICs, VNC. Pure: tested without starting anything.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "toolstack/config/domain_config.h"
#include "toolstack/config/hvm_config.h"
#include "toolstack/devicemodel/device_model_options.h"

namespace txend::toolstack {

struct QemuCommand {
  std::vector<std::string> argv;  // argv[0] is the program
  std::vector<std::string> env;   // NAME=VALUE added to the device model's environment
};

// Video memory (MiB) the emulated card gets: the config's videoram, at least
// what qemu-xen needs (8 for Cirrus, 16 for stdvga), as libxl enforces.
int VideoMemoryMib(const HvmConfig& hvm);

// The QMP socket txend talks to for domain `domid`.
std::string QmpSocketPath(const DeviceModelOptions& options, uint32_t domid);

// `restore_fd` >= 0: qemu loads its saved device state from that descriptor
// (-incoming fd:N). The VNC display is the config's (or 0), scanning up to
// 99 further displays when vncunused is set.
QemuCommand BuildQemuCommand(uint32_t domid, const DomainConfig& config,
                             const DeviceModelOptions& options, int restore_fd);

}  // namespace txend::toolstack
