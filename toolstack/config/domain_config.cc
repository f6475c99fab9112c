// DomainConfig: enums, validation, and adding devices with xend's rules.
#include "toolstack/config/domain_config.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <span>

#include "toolstack/config/block_device_name.h"
#include "toolstack/config/config_values.h"
#include "toolstack/config/cpu_affinity.h"
#include "toolstack/config/hvm_config.h"

namespace txend::toolstack {
namespace {

using sxp::Value;

Status Invalid(std::string message) { return Status::Error(EINVAL, std::move(message)); }

constexpr char kChooseName[] = " (choose another name)";

constexpr std::array<std::pair<ShutdownAction, std::string_view>, 6> kActions = {{
    {ShutdownAction::kDestroy, "destroy"},
    {ShutdownAction::kRestart, "restart"},
    {ShutdownAction::kPreserve, "preserve"},
    {ShutdownAction::kRenameRestart, "rename-restart"},
    {ShutdownAction::kCoredumpDestroy, "coredump-destroy"},
    {ShutdownAction::kCoredumpRestart, "coredump-restart"},
}};

// Image (platform) options xend types as integers (XendConfig XENAPI_PLATFORM_CFG_TYPES).
bool IsIntegerImageOption(std::string_view key) {
  static constexpr std::array<std::string_view, 35> kKeys = {"acpi",
                                                             "apic",
                                                             "isa",
                                                             "localtime",
                                                             "monitor",
                                                             "nographic",
                                                             "nomigrate",
                                                             "pae",
                                                             "extid",
                                                             "rtc_timeoffset",
                                                             "sdl",
                                                             "opengl",
                                                             "stdvga",
                                                             "videoram",
                                                             "usb",
                                                             "hpet",
                                                             "vnc",
                                                             "vncconsole",
                                                             "vncdisplay",
                                                             "timer_mode",
                                                             "tsc_mode",
                                                             "vpt_align",
                                                             "viridian",
                                                             "vncunused",
                                                             "vhpt",
                                                             "hap",
                                                             "nestedhvm",
                                                             "xen_extended_power_mgmt",
                                                             "pci_msitranslate",
                                                             "pci_power_mgmt",
                                                             "xen_platform_pci",
                                                             "gfx_passthru",
                                                             "oos",
                                                             "superpages",
                                                             "memory_sharing"};
  for (auto k : kKeys)
    if (k == key) return true;
  return false;
}

bool IsValidDomainName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) ||
              std::string_view("_-.:+").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

// What boots the guest: a bootloader boots PV and PVH guests only (libxl 4.17
// skips it for HVM, xend ignored it there: an HVM guest boots from its firmware).
Status ValidateBoot(const ImageConfig& image, bool has_bootloader) {
  if (image.builder == Builder::kHvm && has_bootloader)
    return Invalid(
        "bootloader: an HVM guest boots from its firmware (see boot=); a bootloader such as "
        "pygrub boots PV and PVH guests only");
  if (image.builder == Builder::kHvm || !image.kernel.empty() || has_bootloader)
    return Status::Ok();
  return Invalid(image.builder == Builder::kPvh
                     ? "image: a PVH domain needs a kernel or a bootloader"
                     : "image: a linux (PV) domain needs a kernel or a bootloader");
}

Status ValidateImage(const ImageConfig& image, bool has_bootloader) {
  TXEND_RETURN_IF_ERROR(ValidateBoot(image, has_bootloader));
  for (const Value& option : image.options) {
    std::string key(sxp::Name(option));
    const Value* value = sxp::ChildAt(option, 0);
    if (value == nullptr || !value->is_atom()) continue;
    if (IsIntegerImageOption(key))
      TXEND_RETURN_IF_ERROR(ReadInteger("image: " + key, value->atom()).status());
    if (key == "boot" && value->atom().find_first_not_of("acdn") != std::string::npos)
      return Invalid("image: boot '" + value->atom() + "': expected letters from a, c, d, n");
  }
  return Status::Ok();
}

Status ValidateCpus(const DomainConfig& c) {
  if (!c.cpus.empty() && c.cpus.size() != static_cast<size_t>(c.vcpus))
    return Invalid("cpus: " + std::to_string(c.cpus.size()) + " affinity entries for " +
                   std::to_string(c.vcpus) + " vcpus");
  for (const auto& list : c.cpus)
    for (int cpu : list)
      if (cpu < 0 || cpu > kMaxPhysicalCpu)
        return Invalid("cpus: cpu number " + std::to_string(cpu) + " out of range (0-4095)");
  return Status::Ok();
}

Status CheckVbdConflict(std::span<const VbdConfig> existing, const VbdConfig& vbd) {
  auto number = VbdDeviceNumber(vbd.dev);
  for (const VbdConfig& other : existing) {
    if (!vbd.uname.empty() && !other.uname.empty() &&
        BlockBackingPath(vbd.uname) == BlockBackingPath(other.uname))
      return Invalid("vbd " + vbd.dev + ": \"" + BlockBackingPath(vbd.uname) +
                     "\" is already used by " + other.dev);
    if (number && number == VbdDeviceNumber(other.dev))
      return Invalid("vbd " + vbd.dev + ": the device is already defined (as " + other.dev + ")");
  }
  return Status::Ok();
}

bool SameMac(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

Status CheckVifConflict(std::span<const VifConfig> existing, const VifConfig& vif) {
  for (const VifConfig& other : existing)
    if (!vif.mac.empty() && SameMac(vif.mac, other.mac))
      return Invalid("vif: the mac \"" + vif.mac + "\" is already defined");
  return Status::Ok();
}

Status CheckPciConflict(std::span<const PciDevice> existing, const PciDevice& pci) {
  for (const PciDevice& other : existing)
    if (other.domain == pci.domain && other.bus == pci.bus && other.slot == pci.slot &&
        other.func == pci.func)
      return Invalid("pci " + pci.key + ": the device is already assigned");
  return Status::Ok();
}

std::string Abbreviated(std::string text) {
  if (text.size() > 80) text = text.substr(0, 80) + "...";
  return text;
}

bool IsVerbatimDevice(std::string_view type) {
  static constexpr std::array<std::string_view, 7> kTypes = {"vkbd",    "vtpm", "vscsi", "vusb",
                                                             "ioports", "irq",  "vif2"};
  for (auto t : kTypes)
    if (t == type) return true;
  return false;
}

// Each device alone and against the ones before it, as AddDevice checks them.
Status ValidateDevices(const DomainConfig& c) {
  for (size_t i = 0; i < c.vbds.size(); ++i) {
    TXEND_RETURN_IF_ERROR(Validate(c.vbds[i]));
    TXEND_RETURN_IF_ERROR(CheckVbdConflict(std::span(c.vbds).first(i), c.vbds[i]));
  }
  for (size_t i = 0; i < c.vifs.size(); ++i) {
    TXEND_RETURN_IF_ERROR(Validate(c.vifs[i]));
    TXEND_RETURN_IF_ERROR(CheckVifConflict(std::span(c.vifs).first(i), c.vifs[i]));
  }
  for (const VfbConfig& vfb : c.vfbs) TXEND_RETURN_IF_ERROR(Validate(vfb));
  for (size_t i = 0; i < c.pci.size(); ++i) {
    TXEND_RETURN_IF_ERROR(Validate(c.pci[i]));
    TXEND_RETURN_IF_ERROR(CheckPciConflict(std::span(c.pci).first(i), c.pci[i]));
  }
  return Status::Ok();
}

}  // namespace

constexpr std::array<std::pair<Builder, std::string_view>, 3> kBuilders = {{
    {Builder::kLinux, "linux"},
    {Builder::kHvm, "hvm"},
    {Builder::kPvh, "pvh"},
}};

std::string_view ToString(Builder builder) {
  for (const auto& [b, name] : kBuilders)
    if (b == builder) return name;
  return "linux";
}

std::optional<Builder> ParseBuilder(std::string_view text) {
  for (const auto& [b, name] : kBuilders)
    if (name == text) return b;
  return std::nullopt;
}

std::string_view ToString(ShutdownAction action) {
  for (const auto& [a, name] : kActions)
    if (a == action) return name;
  return "destroy";
}

std::optional<ShutdownAction> ParseShutdownAction(std::string_view text) {
  for (const auto& [a, name] : kActions)
    if (name == text) return a;
  return std::nullopt;
}

std::optional<std::string> ImageConfig::Option(std::string_view key) const {
  for (const Value& option : options) {
    if (sxp::Name(option) != key) continue;
    const Value* value = sxp::ChildAt(option, 0);
    if (value != nullptr && value->is_atom()) return value->atom();
    return std::nullopt;
  }
  return std::nullopt;
}

// A ref is looked up as a name, a domid, then a uuid (and Domain-0 is always
// domain 0), so a name that reads as one of the others would address the wrong
// domain. A domain may be named by its own uuid (Oracle VM names domains so).
Status CheckUnambiguousName(const std::string& name, const std::string& uuid) {
  if (name == kDom0Name) return Invalid("name: '" + name + "' is domain 0's name" + kChooseName);
  if (std::all_of(name.begin(), name.end(),
                  [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }))
    return Invalid("name: '" + name + "' is all digits, which xm and libvirt read as a domain id" +
                   kChooseName);
  if (auto as_uuid = NormalizeUuid(name); as_uuid.ok() && *as_uuid != uuid)
    return Invalid("name: '" + name + "' is a uuid, which xm and libvirt read as a domain's uuid" +
                   kChooseName);
  return Status::Ok();
}

Status ValidateSettings(const DomainConfig& c) {
  if (c.name.empty()) return Invalid("name: missing (every domain needs a name)");
  if (!IsValidDomainName(c.name))
    return Invalid("name: '" + c.name +
                   "' is not a valid domain name (use letters, digits and _-.:+)");
  TXEND_RETURN_IF_ERROR(CheckUnambiguousName(c.name, c.uuid));
  auto uuid = NormalizeUuid(c.uuid);
  if (!uuid.ok()) return uuid.status();
  if (*uuid != c.uuid) return Invalid("uuid: '" + c.uuid + "' is not in canonical form " + *uuid);
  if (c.uuid == kDom0Uuid)
    return Invalid("uuid: " + c.uuid + " is Domain-0's (choose another uuid)");
  if (c.memory_mb <= 0) return Invalid("memory: must be greater than 0 (MiB)");
  if (c.maxmem_mb < c.memory_mb)
    return Invalid("maxmem: " + std::to_string(c.maxmem_mb) + " MiB is less than memory (" +
                   std::to_string(c.memory_mb) + " MiB)");
  if (c.shadow_memory_mb < 0) return Invalid("shadow_memory: must not be negative");
  if (c.vcpus < 1 || c.vcpus > kMaxVcpus)
    return Invalid("vcpus: " + std::to_string(c.vcpus) + " is out of range (1.." +
                   std::to_string(kMaxVcpus) + ")");
  TXEND_RETURN_IF_ERROR(ValidateCpus(c));
  if (c.cpu_weight < 1 || c.cpu_weight > 65535)
    return Invalid("cpu_weight: " + std::to_string(c.cpu_weight) + " is out of range (1..65535)");
  if (c.cpu_cap < 0 || c.cpu_cap > 100 * c.vcpus)
    return Invalid("cpu_cap: " + std::to_string(c.cpu_cap) + " is out of range (0.." +
                   std::to_string(100 * c.vcpus) + " for " + std::to_string(c.vcpus) + " vcpus)");
  if (c.on_xend_start != "ignore" && c.on_xend_start != "start")
    return Invalid("on_xend_start: '" + c.on_xend_start + "': expected ignore or start");
  if (c.on_xend_stop != "ignore" && c.on_xend_stop != "shutdown" && c.on_xend_stop != "suspend")
    return Invalid("on_xend_stop: '" + c.on_xend_stop + "': expected ignore, shutdown or suspend");
  TXEND_RETURN_IF_ERROR(ValidateImage(c.image, c.bootloader.has_value()));
  return CheckImageOptions(c);
}

Status Validate(const DomainConfig& c) {
  TXEND_RETURN_IF_ERROR(ValidateSettings(c));
  return ValidateDevices(c);
}

Result<ValidConfig> ValidConfig::Check(DomainConfig config, const RandomBytes& random) {
  if (config.uuid.empty()) config.uuid = NewUuid(random);
  for (auto& vif : config.vifs)
    if (vif.mac.empty()) vif.mac = RandomMac(random);
  if (config.maxmem_mb < config.memory_mb) config.maxmem_mb = config.memory_mb;
  TXEND_RETURN_IF_ERROR(Validate(config));
  return ValidConfig(std::move(config));
}

Status AddDevice(DomainConfig& config, const Value& device, const RandomBytes& random) {
  const Value* dev = &device;
  if (sxp::Name(device) == "device") dev = sxp::ChildAt(device, 0);
  if (dev == nullptr || !dev->is_list() || sxp::Name(*dev).empty())
    return Invalid("device: expected (device (TYPE ...)), got " +
                   Abbreviated(sxp::ToString(device)));
  std::string_view type = sxp::Name(*dev);
  if (type == "vbd" || type == "tap" || type == "tap2") {
    TXEND_ASSIGN_OR_RETURN(VbdConfig vbd, ParseVbd(*dev));
    TXEND_RETURN_IF_ERROR(CheckVbdConflict(config.vbds, vbd));
    if (!vbd.bootable) vbd.bootable = config.vbds.empty();  // xend: the first disk boots
    config.vbds.push_back(std::move(vbd));
  } else if (type == "vif") {
    TXEND_ASSIGN_OR_RETURN(VifConfig vif, ParseVif(*dev));
    if (vif.mac.empty()) vif.mac = RandomMac(random);
    TXEND_RETURN_IF_ERROR(CheckVifConflict(config.vifs, vif));
    config.vifs.push_back(std::move(vif));
  } else if (type == "vfb") {
    TXEND_ASSIGN_OR_RETURN(VfbConfig vfb, ParseVfb(*dev));
    config.vfbs.push_back(std::move(vfb));
  } else if (type == "console") {
    TXEND_ASSIGN_OR_RETURN(ConsoleConfig console, ParseConsole(*dev));
    config.consoles.push_back(std::move(console));
  } else if (type == "pci") {
    TXEND_ASSIGN_OR_RETURN(std::vector<PciDevice> functions, ParsePci(*dev));
    std::vector<PciDevice> all = config.pci;
    for (PciDevice& pci : functions) {
      TXEND_RETURN_IF_ERROR(CheckPciConflict(all, pci));
      all.push_back(std::move(pci));
    }
    config.pci = std::move(all);
  } else if (IsVerbatimDevice(type)) {
    config.other_devices.push_back(*dev);
  } else {
    return Invalid("device: unknown device type '" + std::string(type) + "'");
  }
  return Status::Ok();
}

}  // namespace txend::toolstack
