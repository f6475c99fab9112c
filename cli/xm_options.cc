#include "cli/xm_options.h"

#include <optional>
#include <vector>

namespace txend::xm {
namespace {

using Kind = PyValue::Kind;
using K = XmOptionKind;

PyValue None() { return PyValue(); }
PyValue I(int64_t i) { return PyValue::Int(i); }
PyValue S(const char* s) { return PyValue::Str(s); }
PyValue L() { return PyValue::List({}); }

// create.py's gopts.var table (Xen 4.2), minus options that only steer xm
// itself. The defaults matter: make_config writes many of them into the SXP.
const std::vector<XmOption>& Options() {
  static const std::vector<XmOption> kOptions = {
      {"vncpasswd", K::kString, None()},
      {"vncviewer", K::kBool, None()},
      {"vncconsole", K::kBool, None()},
      {"name", K::kString, None()},
      {"bootloader", K::kString, None()},
      {"bootargs", K::kString, None()},
      {"bootentry", K::kString, None()},
      {"kernel", K::kString, None()},
      {"ramdisk", K::kString, S("")},
      {"loader", K::kString, S("")},
      {"features", K::kString, S("")},
      {"builder", K::kString, S("linux")},
      {"memory", K::kInteger, I(128)},
      {"maxmem", K::kInteger, None()},
      {"shadow_memory", K::kInteger, I(0)},
      {"memory_sharing", K::kBool, I(0)},
      {"cpu", K::kInteger, None()},
      {"cpus", K::kString, None()},
      {"rtc_timeoffset", K::kInteger, I(0)},
      {"pae", K::kInteger, I(1)},
      {"hpet", K::kInteger, I(0)},
      {"timer_mode", K::kInteger, I(1)},
      {"tsc_mode", K::kInteger, I(0)},
      {"nomigrate", K::kInteger, I(0)},
      {"vpt_align", K::kInteger, I(1)},
      {"viridian", K::kInteger, I(0)},
      {"extid", K::kInteger, I(0)},
      {"acpi", K::kInteger, I(1)},
      {"apic", K::kInteger, I(1)},
      {"vcpus", K::kInteger, I(1)},
      {"vcpu_avail", K::kInteger, None()},
      {"vhpt", K::kInteger, I(0)},
      {"cpu_cap", K::kInteger, None()},
      {"cpu_weight", K::kInteger, None()},
      {"restart", K::kString, None()},
      {"on_poweroff", K::kString, None()},
      {"on_reboot", K::kString, None()},
      {"on_crash", K::kString, None()},
      {"blkif", K::kBool, I(0)},
      {"netif", K::kBool, I(0)},
      {"tpmif", K::kBool, I(0)},
      {"disk", K::kList, L()},
      {"pci", K::kList, L()},
      {"vscsi", K::kList, L()},
      {"vusb", K::kList, L()},
      {"ioports", K::kList, L()},
      {"irq", K::kList, L()},
      {"vfb", K::kList, L()},
      {"vif", K::kList, L()},
      {"vif2", K::kList, L()},
      {"vtpm", K::kList, L()},
      {"access_control", K::kList, L()},
      {"nics", K::kInteger, I(-1)},
      {"root", K::kString, S("")},
      {"extra", K::kString, S("")},
      {"ip", K::kString, S("")},
      {"gateway", K::kString, S("")},
      {"netmask", K::kString, S("")},
      {"hostname", K::kString, S("")},
      {"interface", K::kString, S("eth0")},
      {"dhcp", K::kString, S("off")},
      {"nfs_server", K::kString, None()},
      {"nfs_root", K::kString, None()},
      {"smbios_firmware", K::kString, None()},
      {"acpi_firmware", K::kString, None()},
      {"actmem", K::kString, S("0")},
      {"xenpaging_file", K::kString, None()},
      {"xenpaging_extra", K::kList, L()},
      {"device_model", K::kString, None()},
      {"fda", K::kString, S("")},
      {"fdb", K::kString, S("")},
      {"parallel", K::kString, S("")},
      {"serial", K::kString, S("")},
      {"monitor", K::kBool, I(0)},
      {"monitor_path", K::kString, S("")},
      {"localtime", K::kBool, I(0)},
      {"keymap", K::kString, S("")},
      {"usb", K::kBool, I(0)},
      {"usbdevice", K::kString, S("")},
      {"watchdog", K::kString, S("")},
      {"watchdog_action", K::kString, S("reset")},
      {"description", K::kString, S("")},
      {"guest_os_type", K::kString, S("default")},
      {"stdvga", K::kBool, I(0)},
      {"isa", K::kBool, I(0)},
      {"boot", K::kString, S("c")},
      {"nographic", K::kBool, I(0)},
      {"soundhw", K::kString, S("")},
      {"vnc", K::kString, None()},
      {"vncdisplay", K::kString, None()},
      {"vnclisten", K::kString, None()},
      {"vncunused", K::kBool, I(1)},
      {"videoram", K::kInteger, I(4)},
      {"sdl", K::kString, None()},
      {"gfx_passthru", K::kString, None()},
      {"opengl", K::kString, None()},
      {"display", K::kString, None()},
      {"xauthority", K::kString, None()},
      {"uuid", K::kString, None()},
      {"on_xend_start", K::kString, S("ignore")},
      {"on_xend_stop", K::kString, S("ignore")},
      {"target", K::kInteger, I(0)},
      {"hap", K::kInteger, I(1)},
      {"nestedhvm", K::kInteger, I(0)},
      {"s3_integrity", K::kInteger, I(1)},
      {"oos", K::kInteger, I(1)},
      {"cpuid", K::kList, L()},
      {"cpuid_check", K::kList, L()},
      {"machine_address_size", K::kInteger, None()},
      {"suppress_spurious_page_faults", K::kBool, None()},
      {"pool", K::kString, None()},
      {"pci_msitranslate", K::kInteger, I(1)},
      {"pci_power_mgmt", K::kInteger, I(0)},
      {"xen_platform_pci", K::kInteger, I(1)},
      {"superpages", K::kInteger, I(0)},
  };
  return kOptions;
}

// How a value is named in an error: Python repr for strings, str() otherwise.
std::string Shown(const PyValue& v) {
  if (v.is(Kind::kList)) return "a list";
  if (v.is(Kind::kTuple)) return "a tuple";
  return v.Repr();
}

// xm's words for a bool option (opts.py's set_bool took yes/y and no/n; 1 and 0 too here),
// exactly as written: xm never took xend's on/true or other cases.
std::optional<bool> XmBool(std::string_view text) {
  static constexpr std::pair<std::string_view, bool> kWords[] = {
      {"1", true}, {"yes", true}, {"y", true}, {"0", false}, {"no", false}, {"n", false}};
  for (const auto& [word, value] : kWords)
    if (word == text) return value;
  return std::nullopt;
}

Status Expected(const XmOption& option, std::string_view what, const PyValue& got) {
  return Status::Error(
      EINVAL, std::string(option.name) + ": expected " + std::string(what) + ", got " + Shown(got));
}

// cpus and serial may also be lists (per-vcpu affinity; several serial ports).
bool AllowsList(const XmOption& option) { return option.name == "cpus" || option.name == "serial"; }

Result<PyValue> ListOfStrings(const XmOption& option, const PyValue& value) {
  PyValue::Items items;
  for (const PyValue& item : value.items()) {
    bool scalar = item.is(Kind::kStr) || item.is(Kind::kInt) || item.is(Kind::kFloat);
    if (!scalar) return Expected(option, "a list of strings, with an item", item);
    items.push_back(PyValue::Str(item.Str()));
  }
  return PyValue::List(std::move(items));
}

// xl's names for the values of integer options (xl.cfg(5)): tsc_mode = "native" is 2.
std::optional<int64_t> XlNamedValue(std::string_view option, std::string_view text) {
  struct Named {
    std::string_view option, name;
    int64_t value;
  };
  static constexpr Named kNames[] = {
      {"tsc_mode", "default", 0},
      {"tsc_mode", "always_emulate", 1},
      {"tsc_mode", "native", 2},
      {"tsc_mode", "native_paravirt", 3},
      {"timer_mode", "delay_for_missed_ticks", 0},
      {"timer_mode", "no_delay_for_missed_ticks", 1},
      {"timer_mode", "no_missed_ticks_pending", 2},
      {"timer_mode", "one_missed_tick_pending", 3},
  };
  for (const Named& n : kNames)
    if (n.option == option && n.name == text) return n.value;
  return std::nullopt;
}

}  // namespace

const XmOption* FindXmOption(std::string_view name) {
  for (const XmOption& option : Options())
    if (option.name == name) return &option;
  return nullptr;
}

Result<PyValue> NormalizeXmOption(const XmOption& option, const PyValue& value) {
  switch (option.kind) {
    case XmOptionKind::kInteger:
      if (value.is(Kind::kInt)) return value;
      if (value.is(Kind::kStr) && AsInteger(value)) return PyValue::Int(*AsInteger(value));
      if (value.is(Kind::kStr))
        if (auto named = XlNamedValue(option.name, value.as_str())) return PyValue::Int(*named);
      return Expected(option, "an integer", value);
    case XmOptionKind::kBool: {
      if (value.is(Kind::kInt)) return PyValue::Int(value.as_int() != 0);
      if (value.is(Kind::kStr))
        if (auto b = XmBool(value.as_str())) return PyValue::Int(*b);
      return Expected(option, "1 or 0", value);
    }
    case XmOptionKind::kString:
      if (value.is(Kind::kStr)) return value;
      if (value.is(Kind::kInt) || value.is(Kind::kFloat)) return PyValue::Str(value.Str());
      if (value.is(Kind::kList) && AllowsList(option)) return ListOfStrings(option, value);
      return Expected(option, "a string", value);
    case XmOptionKind::kList:
      if (value.is(Kind::kList)) return ListOfStrings(option, value);
      if (value.is(Kind::kStr))
        return Expected(option,
                        "a list of strings (write " + std::string(option.name) + " = [ '...' ])",
                        value);
      return Expected(option, "a list of strings", value);
  }
  return value;
}

Result<PyValue> ParseXmOptionArgument(const XmOption& option, const std::string& text) {
  PyValue value = PyValue::Str(text);
  switch (option.kind) {
    case XmOptionKind::kInteger:
      if (auto n = AsInteger(value)) return PyValue::Int(*n);
      if (auto named = XlNamedValue(option.name, text)) return PyValue::Int(*named);
      return Expected(option, "an integer", value);
    case XmOptionKind::kBool:
      if (auto b = XmBool(text)) return PyValue::Int(*b);
      return Expected(option, "yes or no", value);
    case XmOptionKind::kString:
    case XmOptionKind::kList:
      return value;
  }
  return value;
}

}  // namespace txend::xm
