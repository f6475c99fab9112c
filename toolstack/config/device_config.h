// The virtual devices of a domain config as xend's SXP describes them:
// (vbd ...), (vif ...), (vfb ...), (console ...), (pci (dev ...) ...).
// Parse* read and validate one device; DeviceToSxp writes it back.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "sxp/sxp.h"

namespace txend::toolstack {

// A virtual block device: (vbd (uname phy:/dev/vg/x) (dev xvda1) (mode w)).
struct VbdConfig {
  std::string device_class = "vbd";  // "vbd", or "tap"/"tap2" for blktap disks
  std::string uname;                 // phy:/dev/vg/x, file:/img, tap:aio:/img; "" = empty CD drive
  std::string dev;                   // xvda1, hda, hdc:cdrom, ioemu:hda
  std::string mode = "r";            // r, w, or w! (writable even when shared)
  std::optional<bool> bootable;      // unset: xend marks a domain's first disk bootable
  std::string backend;               // backend domain; "" = Domain-0
  std::string uuid;
  std::vector<sxp::Value> extra;  // other (key value) entries, kept verbatim

  bool operator==(const VbdConfig&) const = default;
};

// A virtual network interface: (vif (mac ..) (bridge ..) (ip ..) (script ..) ...).
struct VifConfig {
  std::string mac;  // "" until a domain config assigns a random one
  std::string bridge, ip, script, vifname, model, type, rate, backend, uuid;
  std::vector<sxp::Value> extra;

  bool operator==(const VifConfig&) const = default;
};

// The highest VNC display number: its port 5900 + N must be a TCP port.
inline constexpr int kMaxVncDisplay = 65535 - 5900;

// A virtual framebuffer: VNC or SDL.
struct VfbConfig {
  std::string type;  // "vnc", "sdl", or "" (a framebuffer nobody views)
  std::string vnclisten, vncpasswd, display, xauthority, keymap, uuid;
  std::optional<int> vncdisplay;
  std::optional<bool> vncunused;
  std::vector<sxp::Value> extra;

  bool operator==(const VfbConfig&) const = default;
};

// A console: (console (protocol vt100) (location 2)).
struct ConsoleConfig {
  std::string protocol, location, uuid;
  std::vector<sxp::Value> extra;

  bool operator==(const ConsoleConfig&) const = default;
};

// One passed-through PCI function: (dev (domain 0x0000) (bus 0x00) (slot 0x1b) (func 0x0) ...).
struct PciDevice {
  int domain = 0, bus = 0, slot = 0, func = 0;
  int vdevfn = 0x100;  // virtual slot/function; 0x100 = chosen automatically (AUTO_PHP_SLOT)
  std::string key;     // "00:1b.0"; derived when absent
  std::vector<std::pair<std::string, std::string>> opts;  // msitranslate, power_mgmt, managed
  std::string uuid;

  bool operator==(const PciDevice&) const = default;
};

Result<VbdConfig> ParseVbd(const sxp::Value& dev);  // (vbd ...), (tap ...) or (tap2 ...)
Result<VifConfig> ParseVif(const sxp::Value& dev);
Result<VfbConfig> ParseVfb(const sxp::Value& dev);
Result<ConsoleConfig> ParseConsole(const sxp::Value& dev);
// (pci (dev ...) (dev ...) [(state ..)]): every function the entry lists.
Result<std::vector<PciDevice>> ParsePci(const sxp::Value& dev);
// xm's BDF syntax: [DDDD:]BB:SS.F[@VSLOT][,opt=val...] ("0000:00:1b.0@8,msitranslate=1").
Result<PciDevice> ParsePciSpec(std::string_view spec);

Status Validate(const VbdConfig& vbd);
Status Validate(const VifConfig& vif);
Status Validate(const VfbConfig& vfb);
Status Validate(const PciDevice& pci);

sxp::Value DeviceToSxp(const VbdConfig& vbd);
sxp::Value DeviceToSxp(const VifConfig& vif);
sxp::Value DeviceToSxp(const VfbConfig& vfb);
sxp::Value DeviceToSxp(const ConsoleConfig& console);
sxp::Value DeviceToSxp(const std::vector<PciDevice>& pci);  // one (pci (dev ...) ...)

// The backing file or device of a vbd uname, as xend's blkif.parse_uname
// finds it for duplicate checks: "phy:sda" -> "/dev/sda", "tap:aio:/x" -> "/x".
std::string BlockBackingPath(std::string_view uname);

}  // namespace txend::toolstack
