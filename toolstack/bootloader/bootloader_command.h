// How a PV guest's bootloader is started, as xend's XendBootloader.bootloader
// started it: which program ("pygrub" and an empty bootloader mean the
// installed pygrub), which disk (the first bootable one, read directly), and
// its arguments in xend's order. Pure but for checking the program and disk.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "toolstack/config/domain_config.h"

namespace txend::toolstack {

// What `pygrub` and `(bootloader)` mean on this host.
inline constexpr char kDefaultPygrub[] = "/usr/lib/xen-4.17/bin/pygrub";

// The program, its arguments (argv[0] first) and the disk it reads (last argument).
struct BootloaderCommand {
  std::string program;
  std::vector<std::string> argv;
  std::string disk;
};

// The program a config's bootloader names: `pygrub` or "" is `pygrub`; a path
// ending in /pygrub that does not exist here (RHEL's /usr/bin/pygrub, Xen's
// /usr/lib/xen/bin/pygrub) is also `pygrub`; anything else as given.
std::string BootloaderProgram(const DomainConfig& config, const std::string& pygrub);

// Python's shlex.split (POSIX mode), which xend applied to bootloader_args.
Result<std::vector<std::string>> SplitShellWords(std::string_view text);

// The dom0 path of the disk the bootloader reads: the first bootable vbd's
// (phy:, file:, tap:aio:, tap:sync:). EINVAL names a missing disk or an image
// format (qcow2, vhd, ...) the bootloader cannot read directly.
Result<std::string> BootDiskPath(const DomainConfig& config);

// The command line: PROGRAM [--kernel=K] [--ramdisk=R] [--args=A] --output=OUTPUT
// [--output-directory=DIR (pygrub only)] BOOTLOADER_ARGS... DISK. The program
// must be an executable file and the disk a readable file or block device
// (never a FIFO or character device the bootloader would block on).
Result<BootloaderCommand> MakeBootloaderCommand(const DomainConfig& config,
                                                const std::string& pygrub,
                                                const std::string& output,
                                                const std::string& output_dir);

}  // namespace txend::toolstack
