// DomainConfig: what a domain is made of — the data behind xm config files
// and xend's (vm ...) SXP configs — with validation and SXP conversion.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "toolstack/sxp.h"

namespace txend::toolstack {

// A virtual block device: uname "phy:/dev/vg/x", "file:/img", "tap:aio:/img".
struct DiskSpec {
  std::string uname;
  std::string dev;         // "xvda1", "hda", "hdc:cdrom"
  std::string mode = "w";  // r, w, w!
  bool operator==(const DiskSpec&) const = default;
};

struct VifSpec {
  std::string mac;  // generated (00:16:3e:...) when empty
  std::string bridge;
  std::string ip;
  std::string script;
  std::string vifname;
  std::string model;
  std::string type;
  std::string rate;
  std::optional<uint32_t> devid;  // fixed once attached; otherwise its position
  bool operator==(const VifSpec&) const = default;
};

// A virtual framebuffer (vfb, with its vkbd): key/value options as xend kept them.
struct VfbSpec {
  std::map<std::string, std::string> options;  // vnc=1, vnclisten=..., sdl=1, keymap=...
  bool operator==(const VfbSpec&) const = default;
};

struct DomainConfig {
  std::string name;
  std::string uuid;
  uint64_t memory_mib = 128;
  uint64_t maxmem_mib = 0;  // 0: same as memory
  uint32_t vcpus = 1;
  uint32_t vcpu_avail = 0;  // bitmap of online vcpus; 0: all
  std::string cpus;         // affinity, "0-3,^1"
  uint32_t cpu_weight = 256;
  uint32_t cpu_cap = 0;
  std::string builder = "linux";  // linux (PV) or hvm
  std::string kernel;
  std::string ramdisk;
  std::string root;
  std::string args;  // extra kernel command line
  std::string bootloader;
  std::string bootloader_args;
  std::string on_poweroff = "destroy";
  std::string on_reboot = "restart";
  std::string on_crash = "restart";
  bool localtime = false;
  bool autostart = false;  // xend's on_xend_start=start: started when txend starts
  std::map<std::string, std::string> image_options;  // hvm: boot, acpi, apic, pae, device_model, serial, usb...
  std::vector<DiskSpec> disks;
  std::vector<VifSpec> vifs;
  std::vector<VfbSpec> vfbs;
  std::vector<sxp::Value> other_devices;  // pci, vtpm...: kept, not acted on

  bool hvm() const { return builder == "hvm"; }
  uint64_t max_mib() const { return maxmem_mib ? maxmem_mib : memory_mib; }
  // The kernel command line: "root=<root> <args>".
  std::string CommandLine() const;

  // Reads xend's (vm ...) form (what `xm create` and libvirt send); also accepts
  // (domain ...) as xend returned it. Validates.
  static Result<DomainConfig> FromSxp(const sxp::Value& vm);
  // The (vm ...) form, as xend's to_sxp wrote the configuration part.
  sxp::Value ToSxp() const;
  // EINVAL naming the first bad field.
  Status Validate() const;
  // Fills what was left empty: uuid (from `random`), vif MACs, maxmem.
  void FillDefaults(const std::function<uint64_t()>& random);
};

// xend's on_poweroff/on_reboot/on_crash actions.
bool IsValidAction(std::string_view action);
// "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", lower-case hex.
bool IsValidUuid(std::string_view uuid);
std::string FormatUuid(uint64_t hi, uint64_t lo);  // a version-4 uuid from random bits
// Linux's device number for a vbd name: xvda -> 51712, hda -> 768, sdb2 -> 2066.
Result<uint32_t> VbdDevid(std::string_view dev);

}  // namespace txend::toolstack
