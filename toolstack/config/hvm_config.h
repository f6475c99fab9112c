// The image options of HVM and PVH guests: which (image (hvm|pvh ...)) keys
// txend takes (xend's XENAPI_PLATFORM_CFG_TYPES and xm's configure_hvm), and
// HvmConfig, the typed view the builder and the device model read.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "sxp/sxp.h"

namespace txend::toolstack {

struct DomainConfig;

// What txend does with one image key of an HVM or PVH guest.
enum class ImageKeyUse {
  kUsed,         // the build or the device model acts on it
  kNoEffect,     // accepted and kept (xend's output carries it), changes nothing
  kOnlyNeutral,  // refused unless it has its neutral value (a feature txend lacks)
};

// One row of the table behind CheckImageOptions (exposed for the manual's test).
struct ImageKey {
  std::string_view name;
  ImageKeyUse use;
  bool hvm, pvh;             // which builders take it
  std::string_view neutral;  // kOnlyNeutral: the value that is accepted
};
const std::vector<ImageKey>& HvmPvhImageKeys();

// Refuses, by name, every image option of an HVM or PVH config that txend does
// not support, and checks the types of those it does. PV images are not checked.
Status CheckImageOptions(const DomainConfig& config);

// An HVM guest's emulated machine, read from its image options (with xend's
// defaults) and its first framebuffer. Only for configs that passed CheckImageOptions.
struct HvmConfig {
  std::string device_model;  // as written: "", "qemu-dm", a path
  std::string boot = "c";    // letters from acdn
  bool acpi = true, apic = true, pae = true, hap = true, hpet = false;
  bool viridian = false, stdvga = false, usb = false, nographic = false, monitor = false;
  bool vpt_align = true, xen_platform_pci = true, localtime = false;
  int timer_mode = 1;
  int tsc_mode = 0;
  int64_t rtc_timeoffset = 0;
  int videoram_mib = 4;
  std::vector<std::string> serial;     // "pty", "file:/x", ... one per port
  std::vector<std::string> usbdevice;  // "tablet", "mouse", ...
  std::string parallel, soundhw, keymap;
  // VNC (from the vfb xend builds out of the image's vnc options).
  bool vnc = false, vncunused = true;
  std::optional<int> vncdisplay;
  std::string vnclisten = "127.0.0.1", vncpasswd;
  bool sdl = false;
  std::string display, xauthority;
};
HvmConfig ReadHvmConfig(const DomainConfig& config);

}  // namespace txend::toolstack
