// The HVM/PVH image-key table, its check, and the typed HvmConfig read from it.
#include "toolstack/config/hvm_config.h"

#include "toolstack/config/config_values.h"
#include "toolstack/config/domain_config.h"

namespace txend::toolstack {
namespace {

using sxp::Value;
using U = ImageKeyUse;

Status Invalid(std::string message) { return Status::Error(EINVAL, std::move(message)); }

// Integer keys with a range narrower than any integer.
struct IntegerRange {
  std::string_view name;
  int64_t lo, hi;
};
constexpr IntegerRange kRanges[] = {
    {"timer_mode", 0, 3}, {"tsc_mode", 0, 3}, {"vncdisplay", 0, kMaxVncDisplay},
    {"videoram", 0, 256}, {"viridian", 0, 1},
};

const ImageKey* FindKey(std::string_view name) {
  for (const ImageKey& key : HvmPvhImageKeys())
    if (key.name == name) return &key;
  return nullptr;
}

// The atoms of an option that may be one atom or a list of them: (serial pty), (serial (pty none)).
std::vector<std::string> AtomsOf(const Value& option) {
  std::vector<std::string> atoms;
  const Value* value = sxp::ChildAt(option, 0);
  if (value == nullptr) return atoms;
  if (value->is_atom()) {
    if (!value->atom().empty()) atoms.push_back(value->atom());
    return atoms;
  }
  for (const Value& item : value->items())
    if (item.is_atom() && !item.atom().empty()) atoms.push_back(item.atom());
  return atoms;
}

Status CheckOne(const Value& option, bool pvh) {
  std::string name(sxp::Name(option));
  const ImageKey* key = FindKey(name);
  std::string_view guest = pvh ? "PVH" : "HVM";
  if (key == nullptr)
    return Invalid("image: unknown " + std::string(guest) + " option '" + name + "'");
  if (pvh && !key->pvh)
    return Invalid("image: '" + name + "' does not apply to a PVH guest (it has no emulated " +
                   "devices and no firmware)");
  if (!pvh && !key->hvm) return Invalid("image: '" + name + "' does not apply to an HVM guest");
  const Value* value = sxp::ChildAt(option, 0);
  std::string text;  // an empty list, as old xm wrote (pci ()), reads as ''
  if (value != nullptr)
    text = value->is_atom() ? value->atom() : AtomsOf(option).empty() ? "" : sxp::ToString(*value);
  if (key->use == U::kOnlyNeutral && text != key->neutral)
    return Invalid("image: " + name + " " + text + " is not supported by txend" +
                   (key->neutral.empty() ? "" : " (only " + std::string(key->neutral) + ")"));
  for (const IntegerRange& range : kRanges)
    if (range.name == name)
      TXEND_RETURN_IF_ERROR(
          ReadIntegerInRange("image: " + name, text, range.lo, range.hi).status());
  return Status::Ok();
}

bool Flag(const DomainConfig& c, std::string_view key, bool fallback) {
  auto text = c.image.Option(key);
  if (!text) return fallback;
  auto on = ReadFlag(key, *text);
  return on.ok() ? *on : fallback;
}

int64_t Integer(const DomainConfig& c, std::string_view key, int64_t fallback) {
  auto text = c.image.Option(key);
  if (!text) return fallback;
  auto n = ReadInteger(key, *text);
  return n.ok() ? *n : fallback;
}

std::vector<std::string> Atoms(const DomainConfig& c, std::string_view key) {
  for (const Value& option : c.image.options)
    if (sxp::Name(option) == key) return AtomsOf(option);
  return {};
}

void ReadFramebuffer(const DomainConfig& c, HvmConfig& hvm) {
  if (c.vfbs.empty()) return;
  const VfbConfig& vfb = c.vfbs.front();
  hvm.vnc = vfb.type == "vnc";
  hvm.sdl = vfb.type == "sdl";
  hvm.vncunused = vfb.vncunused.value_or(true);
  hvm.vncdisplay = vfb.vncdisplay;
  if (!vfb.vnclisten.empty()) hvm.vnclisten = vfb.vnclisten;
  hvm.vncpasswd = vfb.vncpasswd;
  if (!vfb.keymap.empty()) hvm.keymap = vfb.keymap;
  if (!vfb.display.empty()) hvm.display = vfb.display;
  if (!vfb.xauthority.empty()) hvm.xauthority = vfb.xauthority;
}

}  // namespace

const std::vector<ImageKey>& HvmPvhImageKeys() {
  static const std::vector<ImageKey> kKeys = {
      // The emulated machine (HVM) and the domain's platform.
      {"device_model", U::kUsed, true, false, ""},
      {"boot", U::kUsed, true, false, ""},
      {"acpi", U::kUsed, true, false, ""},
      {"apic", U::kUsed, true, false, ""},
      {"pae", U::kUsed, true, false, ""},
      {"hap", U::kUsed, true, false, ""},
      {"viridian", U::kUsed, true, false, ""},
      {"hpet", U::kUsed, true, false, ""},
      {"timer_mode", U::kUsed, true, true, ""},
      {"vpt_align", U::kUsed, true, false, ""},
      {"tsc_mode", U::kUsed, true, true, ""},
      {"rtc_timeoffset", U::kUsed, true, false, ""},
      {"localtime", U::kUsed, true, true, ""},
      {"xen_platform_pci", U::kUsed, true, false, ""},
      // Display.
      {"stdvga", U::kUsed, true, false, ""},
      {"videoram", U::kUsed, true, false, ""},
      {"vnc", U::kUsed, true, false, ""},
      {"vnclisten", U::kUsed, true, false, ""},
      {"vncdisplay", U::kUsed, true, false, ""},
      {"vncunused", U::kUsed, true, false, ""},
      {"vncpasswd", U::kUsed, true, false, ""},
      {"sdl", U::kUsed, true, false, ""},
      {"display", U::kUsed, true, false, ""},
      {"xauthority", U::kUsed, true, false, ""},
      {"keymap", U::kUsed, true, false, ""},
      {"nographic", U::kUsed, true, false, ""},
      // Emulated devices.
      {"serial", U::kUsed, true, false, ""},
      {"parallel", U::kUsed, true, false, ""},
      {"monitor", U::kUsed, true, false, ""},
      {"usb", U::kUsed, true, false, ""},
      {"usbdevice", U::kUsed, true, false, ""},
      {"soundhw", U::kUsed, true, false, ""},
      // Carried by xend's and xm's output, without effect on Xen 4.17 with qemu-xen.
      {"guest_os_type", U::kNoEffect, true, false, ""},
      {"opengl", U::kNoEffect, true, false, ""},
      {"vncconsole", U::kNoEffect, true, false, ""},
      {"oos", U::kNoEffect, true, false, ""},
      {"pci_msitranslate", U::kNoEffect, true, false, ""},
      {"pci_power_mgmt", U::kNoEffect, true, false, ""},
      {"xen_extended_power_mgmt", U::kNoEffect, true, false, ""},
      {"watchdog_action", U::kNoEffect, true, false, ""},
      {"nomigrate", U::kNoEffect, true, true, ""},
      {"machine_address_size", U::kNoEffect, true, true, ""},
      {"suppress_spurious_page_faults", U::kNoEffect, true, true, ""},
      // Features txend does not have: accepted only when off.
      {"nestedhvm", U::kOnlyNeutral, true, false, "0"},
      {"gfx_passthru", U::kOnlyNeutral, true, false, "0"},
      {"isa", U::kOnlyNeutral, true, false, "0"},
      {"actmem", U::kOnlyNeutral, true, false, "0"},
      {"memory_sharing", U::kOnlyNeutral, true, false, "0"},
      {"vhpt", U::kOnlyNeutral, true, true, "0"},
      {"fda", U::kOnlyNeutral, true, false, ""},
      {"fdb", U::kOnlyNeutral, true, false, ""},
      {"watchdog", U::kOnlyNeutral, true, false, ""},
      {"monitor_path", U::kOnlyNeutral, true, false, ""},
      {"smbios_firmware", U::kOnlyNeutral, true, false, ""},
      {"acpi_firmware", U::kOnlyNeutral, true, false, ""},
      {"xenpaging_file", U::kOnlyNeutral, true, false, ""},
      {"xenpaging_extra", U::kOnlyNeutral, true, false, ""},
      {"pci", U::kOnlyNeutral, true, false, ""},
  };
  return kKeys;
}

Status CheckImageOptions(const DomainConfig& c) {
  if (c.image.builder == Builder::kLinux) return Status::Ok();
  bool pvh = c.image.builder == Builder::kPvh;
  for (const Value& option : c.image.options) TXEND_RETURN_IF_ERROR(CheckOne(option, pvh));
  if (pvh && !c.image.loader.empty())
    return Invalid("image: loader does not apply to a PVH guest (it boots its kernel directly)");
  return Status::Ok();
}

HvmConfig ReadHvmConfig(const DomainConfig& c) {
  HvmConfig hvm;
  hvm.device_model = c.image.Option("device_model").value_or("");
  hvm.boot = c.image.Option("boot").value_or("c");
  if (hvm.boot.empty()) hvm.boot = "c";
  hvm.acpi = Flag(c, "acpi", true);
  hvm.apic = Flag(c, "apic", true);
  hvm.pae = Flag(c, "pae", true);
  hvm.hap = Flag(c, "hap", true);
  hvm.hpet = Flag(c, "hpet", false);
  hvm.viridian = Flag(c, "viridian", false);
  hvm.stdvga = Flag(c, "stdvga", false);
  hvm.usb = Flag(c, "usb", false);
  hvm.nographic = Flag(c, "nographic", false);
  hvm.monitor = Flag(c, "monitor", false);
  hvm.vpt_align = Flag(c, "vpt_align", true);
  hvm.xen_platform_pci = Flag(c, "xen_platform_pci", true);
  hvm.localtime = c.localtime.value_or(false);
  hvm.timer_mode = static_cast<int>(Integer(c, "timer_mode", 1));
  hvm.tsc_mode = static_cast<int>(Integer(c, "tsc_mode", 0));
  hvm.rtc_timeoffset = Integer(c, "rtc_timeoffset", 0);
  hvm.videoram_mib = static_cast<int>(Integer(c, "videoram", 4));
  hvm.serial = Atoms(c, "serial");
  hvm.usbdevice = Atoms(c, "usbdevice");
  hvm.parallel = c.image.Option("parallel").value_or("");
  hvm.soundhw = c.image.Option("soundhw").value_or("");
  hvm.keymap = c.image.Option("keymap").value_or("");
  hvm.display = c.image.Option("display").value_or("");
  hvm.xauthority = c.image.Option("xauthority").value_or("");
  ReadFramebuffer(c, hvm);
  return hvm;
}

}  // namespace txend::toolstack
