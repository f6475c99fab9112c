// Running a PV or PVH guest's bootloader (pygrub, pypxeboot) the way xend's
// XendBootloader did: on a pseudo-terminal, reading the guest's disk, reporting
// the kernel it extracted through a FIFO. Here the files go to a private
// directory that is removed once the domain is built, and the run is bounded
// in time, in what it reports and in the size of the files it writes.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "base/result.h"
#include "toolstack/bootloader/bootloader_command.h"
#include "toolstack/bootloader/bootloader_output.h"
#include "toolstack/config/domain_config.h"

namespace txend::toolstack {

// How bootloaders are run on this host.
struct BootloaderOptions {
  std::string pygrub = kDefaultPygrub;  // what `pygrub` and `(bootloader)` mean
  std::string work_dir;                 // private directories are made here ("": <state dir>/boot)
  std::chrono::milliseconds timeout{60000};  // then the bootloader is killed
  size_t max_report_bytes = 64 << 10;        // what it may write to --output
  uint64_t max_file_bytes = 1ull << 30;      // the largest kernel or ramdisk it may write
};

// The kernel a bootloader chose, with the private directory it was written to;
// the directory and everything in it go when this does. Move-only.
class BootedKernel {
 public:
  BootedKernel(std::string program, std::string dir)
      : program_(std::move(program)), dir_(std::move(dir)) {}
  BootedKernel(BootedKernel&& other) noexcept;
  BootedKernel& operator=(BootedKernel&& other) noexcept;
  BootedKernel(const BootedKernel&) = delete;
  BootedKernel& operator=(const BootedKernel&) = delete;
  ~BootedKernel();

  const std::string& program() const { return program_; }  // the bootloader that ran
  const BootImage& image() const { return image_; }
  const std::string& dir() const { return dir_; }
  void set_image(BootImage image) { image_ = std::move(image); }

 private:
  std::string program_;
  std::string dir_;
  BootImage image_;
};

// Runs `config`'s bootloader (config.boots_with_bootloader()) on its first
// bootable disk with xend's arguments. Every error names the bootloader:
// "bootloader /usr/bin/pypxeboot: No such file or directory", "bootloader
// /usr/lib/xen-4.17/bin/pygrub failed (exit status 1): RuntimeError: Unable
// to find partition containing kernel".
Result<BootedKernel> RunBootloader(const DomainConfig& config, const BootloaderOptions& options);

}  // namespace txend::toolstack
