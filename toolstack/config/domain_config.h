// DomainConfig: the data behind xm config files and xend's domain SXP, with
// conversions from the (vm ...) SXP that `xm create` and libvirt send to xend
// and to the config part of xend's (domain ...) SXP. See docs/config.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "sxp/sxp.h"
#include "toolstack/config/device_config.h"
#include "toolstack/config/random_ids.h"

namespace txend::toolstack {

// Domain-0's name and uuid ("0" is its domid); no other domain may take them.
inline constexpr char kDom0Name[] = "Domain-0";
inline constexpr char kDom0Uuid[] = "00000000-0000-0000-0000-000000000000";

// The most vcpus a domain may have (xend itself had no limit; Xen 4.x allows 128 for HVM).
inline constexpr int kMaxVcpus = 512;

// How a domain is built: a paravirtualised kernel, a hardware VM with emulated
// devices and firmware, or a hardware container booting a PVH kernel directly.
enum class Builder { kLinux, kHvm, kPvh };
std::string_view ToString(Builder builder);  // "linux", "hvm", "pvh"
std::optional<Builder> ParseBuilder(std::string_view text);

// What happens when a domain powers off, reboots or crashes.
enum class ShutdownAction {
  kDestroy,
  kRestart,
  kPreserve,
  kRenameRestart,
  kCoredumpDestroy,
  kCoredumpRestart
};
std::string_view ToString(ShutdownAction action);  // "rename-restart", ...
std::optional<ShutdownAction> ParseShutdownAction(std::string_view text);

// The (image (linux|hvm|pvh ...)) section: how to boot the domain.
struct ImageConfig {
  Builder builder = Builder::kLinux;
  std::string kernel, ramdisk;
  std::string args;    // the kernel command line, with root= and ip= folded in as xend does
  std::string loader;  // HVM firmware, e.g. /usr/lib/xen/boot/hvmloader or "hvmloader"
  int superpages = 0;
  // Every other image entry in order, verbatim: (boot c) (acpi 1) (device_model ..) (serial pty)
  // ...
  std::vector<sxp::Value> options;

  // The atom value of option `key` ("c" for (boot c)), or nullopt.
  std::optional<std::string> Option(std::string_view key) const;

  bool operator==(const ImageConfig&) const = default;
};

// A domain's configuration, independent of whether it runs.
struct DomainConfig {
  std::string name;
  std::string uuid;  // canonical lowercase 8-4-4-4-12
  std::string description;
  int64_t memory_mb = 0;
  int64_t maxmem_mb = 0;  // FromSxp sets it to memory_mb when absent
  int vcpus = 1;
  std::optional<uint64_t> vcpu_avail;  // bitmap of vcpus online at boot; unset = all
  std::vector<std::vector<int>> cpus;  // per-vcpu physical CPUs; empty list = any
  int cpu_weight = 256;
  int cpu_cap = 0;
  ShutdownAction on_poweroff = ShutdownAction::kDestroy;
  ShutdownAction on_reboot = ShutdownAction::kRestart;
  ShutdownAction on_crash = ShutdownAction::kRestart;
  // The program that finds a PV or PVH kernel inside the guest's disk (pygrub).
  // Unset: the kernel boots; "" (libvirt's `(bootloader)`): xend's default, pygrub.
  std::optional<std::string> bootloader;
  std::string bootloader_args;
  std::string pool_name = "Pool-0";
  int64_t shadow_memory_mb = 0;
  std::string features;
  std::string on_xend_start = "ignore";  // ignore | start
  std::string on_xend_stop = "ignore";   // ignore | shutdown | suspend
  std::optional<bool> localtime;
  ImageConfig image;

  std::vector<VbdConfig> vbds;
  std::vector<VifConfig> vifs;
  std::vector<VfbConfig> vfbs;
  std::vector<ConsoleConfig> consoles;
  std::vector<PciDevice> pci;
  std::vector<sxp::Value> other_devices;  // (vkbd) (vtpm ..) (vscsi ..) ... kept verbatim

  bool is_hvm() const { return image.builder == Builder::kHvm; }
  bool is_pvh() const { return image.builder == Builder::kPvh; }
  // A PV or PVH guest whose kernel its bootloader finds (xend's
  // _configureBootloader; libxl runs it for PVH too). Validate refuses HVM + bootloader.
  bool boots_with_bootloader() const { return !is_hvm() && bootloader.has_value(); }
  bool operator==(const DomainConfig&) const = default;
};

// Checks everything xend checks (and a little more); the message names the field.
Status Validate(const DomainConfig& config);
// Validate() without the devices (FromSxp checks each device as it reads it).
Status ValidateSettings(const DomainConfig& config);

// A DomainConfig that passed Validate() once: only FromSxp and Check make one,
// so the operations that take it never check again. Read-only.
class ValidConfig {
 public:
  // The one check for a config built in code: fills in what FromSxp would have
  // drawn from `random` (a missing uuid and vif MACs; maxmem below memory is
  // raised to it), then Validate()s it.
  static Result<ValidConfig> Check(DomainConfig config, const RandomBytes& random);

  const DomainConfig& operator*() const { return config_; }
  const DomainConfig* operator->() const { return &config_; }
  operator const DomainConfig&() const { return config_; }  // NOLINT: a read-only view
  bool operator==(const ValidConfig&) const = default;

 private:
  friend Result<ValidConfig> FromSxp(const sxp::Value& vm, const RandomBytes& random);
  explicit ValidConfig(DomainConfig config) : config_(std::move(config)) {}
  DomainConfig config_;
};

// Reads a (vm ...) or (domain ...) SXP as xend's XendConfig does: unknown
// top-level entries and runtime fields are ignored, the deprecated `restart`
// and `cpu` are honoured, a missing uuid and missing vif MACs are drawn from
// `random`, the first disk becomes bootable. Each device is checked as it is
// read, the rest once at the end: the parse boundary of every config.
Result<ValidConfig> FromSxp(const sxp::Value& vm, const RandomBytes& random);

// Adds one device, given as (device (vbd ...)) or (vbd ...), with xend's
// defaults and duplicate checks (same disk, same guest device, same MAC).
Status AddDevice(DomainConfig& config, const sxp::Value& device, const RandomBytes& random);

// xend's (domain ...) SXP (XendConfig.to_sxp, legacy form) in xend 4.2's order:
// the config alone (toolstack/domain/domain_sxp.h adds a running domain's fields).
sxp::Value ToSxp(const DomainConfig& config);

}  // namespace txend::toolstack
