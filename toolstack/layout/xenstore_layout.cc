#include "toolstack/layout/xenstore_layout.h"

#include <cstdio>

#include "base/numbers.h"
#include "toolstack/config/block_device_name.h"

namespace txend::toolstack {
namespace {

using wire::Access;
using Node = xs::Transaction::NodeWrite;

constexpr const char* kBackendTypes[] = {"vbd", "tap",  "tap2",    "qdisk", "vif",
                                         "vfb", "vkbd", "console", "pci"};

// Perms for what dom0 owns and the guest may read; and for what the guest owns.
wire::Perms Dom0Owned(uint32_t domid) { return {{0, Access::kNone}, {domid, Access::kRead}}; }
wire::Perms GuestOwned(uint32_t domid) { return {{domid, Access::kNone}, {0, Access::kRead}}; }

std::string Int(uint64_t v) { return std::to_string(v); }

std::string DiskType(const std::string& uname) {
  std::string prefix = uname.substr(0, uname.find(':'));
  return prefix == "tap" || prefix == "tap2" ? "tap" : prefix;
}

// The backing path of a uname for the backend's `params`: "tap:aio:/x" -> "/x".
std::string DiskParams(const std::string& uname) {
  std::string rest = uname.substr(uname.find(':') + 1);
  if (uname.starts_with("tap:") || uname.starts_with("tap2:")) {
    size_t colon = rest.find(':');
    if (colon != std::string::npos) return rest.substr(colon + 1);
  }
  return rest;
}

// "ioemu:hdc:cdrom" -> "hdc".
std::string VbdName(std::string dev) {
  if (dev.starts_with("ioemu:")) dev = dev.substr(6);
  return dev.substr(0, dev.find(':'));
}

// Frontend nodes common to every device, then its own.
void Pair(std::vector<Node>& out, uint32_t domid, const DeviceRef& d,
          const std::vector<std::pair<std::string, std::string>>& front,
          const std::vector<std::pair<std::string, std::string>>& back) {
  std::string fe = d.FrontendPath(domid), be = d.BackendPath(domid);
  out.push_back({fe, "", GuestOwned(domid)});
  out.push_back({fe + "/backend", be, std::nullopt});
  out.push_back({fe + "/backend-id", "0", std::nullopt});
  out.push_back({fe + "/state", ToNode(XenbusState::kInitialising), std::nullopt});
  for (const auto& [k, v] : front) out.push_back({fe + "/" + k, v, std::nullopt});
  out.push_back({be, "", Dom0Owned(domid)});
  out.push_back({be + "/frontend", fe, std::nullopt});
  out.push_back({be + "/frontend-id", Int(domid), std::nullopt});
  out.push_back({be + "/online", "1", std::nullopt});
  out.push_back({be + "/state", ToNode(XenbusState::kInitialising), std::nullopt});
  for (const auto& [k, v] : back)
    if (!v.empty()) out.push_back({be + "/" + k, v, std::nullopt});
}

std::vector<std::pair<std::string, std::string>> VfbBackend(const VfbConfig& f) {
  std::vector<std::pair<std::string, std::string>> out;
  if (f.type == "vnc") out.emplace_back("vnc", "1");
  if (f.type == "sdl") out.emplace_back("sdl", "1");
  out.emplace_back("vnclisten", f.vnclisten);
  out.emplace_back("vncpasswd", f.vncpasswd);
  if (f.vncdisplay) out.emplace_back("vncdisplay", Int(*f.vncdisplay));
  if (f.vncunused) out.emplace_back("vncunused", *f.vncunused ? "1" : "0");
  out.emplace_back("keymap", f.keymap);
  out.emplace_back("display", f.display);
  out.emplace_back("xauthority", f.xauthority);
  return out;
}

}  // namespace

std::optional<uint32_t> VifDevid(const VifConfig& vif) {
  for (const auto& e : vif.extra) {
    if (sxp::Name(e) != "devid" || e.items().size() != 2 || !e.items()[1].is_atom()) continue;
    if (auto devid = ParseInteger<uint32_t>(e.items()[1].atom()); devid.ok()) return *devid;
  }
  return std::nullopt;
}

void SetVifDevid(VifConfig& vif, uint32_t devid) {
  std::erase_if(vif.extra, [](const sxp::Value& e) { return sxp::Name(e) == "devid"; });
  vif.extra.push_back(sxp::Value::List({"devid", Int(devid)}));
}

std::string DeviceRef::FrontendPath(uint32_t domid) const {
  return DomainHome(domid) + "/device/" + type + "/" + Int(devid);
}

std::string DeviceRef::BackendPath(uint32_t domid, uint32_t backend_domid) const {
  return DomainHome(backend_domid) + "/backend/" + type + "/" + Int(domid) + "/" + Int(devid);
}

std::string BackendDeviceDir(std::string_view path) {
  std::string_view rest(path);
  if (!rest.starts_with(kBackendRoot)) return "";
  rest.remove_prefix(std::string_view(kBackendRoot).size());
  size_t end = 0;
  for (int part = 0; part < 3; ++part) {
    if (end >= rest.size() || rest[end] != '/') return "";
    end = rest.find('/', end + 1);
    if (end == std::string_view::npos) end = rest.size();
  }
  return std::string(kBackendRoot) + std::string(rest.substr(0, end));
}

std::string VmPath(const std::string& uuid) { return "/vm/" + uuid; }
std::string DomainHome(uint32_t domid) { return "/local/domain/" + Int(domid); }

Result<std::vector<DeviceRef>> DevicesOf(const DomainConfig& config) {
  std::vector<DeviceRef> out;
  for (size_t i = 0; i < config.vbds.size(); ++i) {
    auto devid = VbdDeviceNumber(config.vbds[i].dev);
    if (!devid)
      return Status::Error(EINVAL, "invalid disk device name '" + config.vbds[i].dev + "'");
    for (const auto& d : out)
      if (d.devid == *devid)
        return Status::Error(EINVAL, "disk " + config.vbds[i].dev + " is given twice");
    out.push_back({"vbd", *devid, i});
  }
  for (size_t i = 0; i < config.vifs.size(); ++i)
    out.push_back({"vif", VifDevid(config.vifs[i]).value_or(static_cast<uint32_t>(i)), i});
  for (size_t i = 0; i < config.vfbs.size(); ++i) {
    out.push_back({"vfb", static_cast<uint32_t>(i), i});
    out.push_back({"vkbd", static_cast<uint32_t>(i), i});
  }
  return out;
}

Result<std::vector<Node>> DeviceNodes(const DomainConfig& config, uint32_t domid,
                                      const DeviceRef& d) {
  std::vector<Node> out;
  if (d.type == "vbd") {
    const VbdConfig& disk = config.vbds.at(d.index);
    bool cdrom = disk.dev.find(":cdrom") != std::string::npos;
    std::string devtype = cdrom ? "cdrom" : "disk";
    bool bootable = disk.bootable.value_or(d.index == 0);
    Pair(out, domid, d, {{"virtual-device", Int(d.devid)}, {"device-type", devtype}},
         {{"params", DiskParams(disk.uname)},
          {"type", DiskType(disk.uname)},
          {"mode", disk.mode == "r" ? "r" : "w"},
          {"dev", VbdName(disk.dev)},
          {"device-type", devtype},
          {"removable", cdrom ? "1" : "0"},
          {"bootable", bootable ? "1" : "0"}});
  } else if (d.type == "vif") {
    const VifConfig& vif = config.vifs.at(d.index);
    Pair(out, domid, d, {{"handle", Int(d.devid)}, {"mac", vif.mac}},
         {{"mac", vif.mac},
          {"handle", Int(d.devid)},
          {"script", vif.script.empty() ? "/etc/xen/scripts/vif-bridge" : vif.script},
          {"bridge", vif.bridge},
          {"ip", vif.ip},
          {"vifname", vif.vifname},
          {"model", vif.model},
          {"type", vif.type},
          {"rate", vif.rate}});
  } else if (d.type == "vfb") {
    Pair(out, domid, d, {}, VfbBackend(config.vfbs.at(d.index)));
  } else if (d.type == "vkbd") {
    Pair(out, domid, d, {}, {});
  } else {
    return Status::Error(EINVAL, "unknown device type " + d.type);
  }
  return out;
}

std::string PciName(const PciDevice& pci) {
  char name[32];
  snprintf(name, sizeof name, "%04x:%02x:%02x.%01x", pci.domain, pci.bus, pci.slot, pci.func);
  return name;
}

std::vector<Node> PciNodes(const DomainConfig& config, uint32_t domid) {
  std::vector<Node> out;
  if (config.pci.empty()) return out;
  std::vector<std::pair<std::string, std::string>> back = {{"domain", config.name},
                                                           {"num_devs", Int(config.pci.size())}};
  for (size_t i = 0; i < config.pci.size(); ++i) {
    const PciDevice& pci = config.pci[i];
    std::string n = Int(i), opts;
    for (const auto& [k, v] : pci.opts) opts += (opts.empty() ? "" : ",") + k + "=" + v;
    char vdevfn[16];
    snprintf(vdevfn, sizeof vdevfn, "%02x", pci.vdevfn);
    back.insert(back.end(), {{"dev-" + n, PciName(pci)},
                             {"uuid-" + n, pci.uuid},
                             {"key-" + n, pci.key},
                             {"vdevfn-" + n, vdevfn},
                             {"opts-" + n, opts},
                             {"state-" + n, ToNode(XenbusState::kInitialising)}});
  }
  Pair(out, domid, DeviceRef{"pci", kPciDevid, 0}, {}, back);
  return out;
}

Result<std::vector<Node>> DomainNodes(const DomainConfig& c, const DomainPlacement& p) {
  uint32_t domid = p.domid;
  std::string vm = VmPath(c.uuid), home = DomainHome(domid);
  uint64_t vcpus = static_cast<uint64_t>(c.vcpus);
  uint64_t all_online = vcpus >= 64 ? ~0ull : (1ull << vcpus) - 1;
  uint64_t avail = c.vcpu_avail.value_or(all_online);
  char start[32];
  snprintf(start, sizeof start, "%.2f", p.start_time);
  std::vector<Node> out = {
      {vm, "", Dom0Owned(domid)},
      {vm + "/uuid", c.uuid, std::nullopt},
      {vm + "/name", c.name, std::nullopt},
      {vm + "/memory", Int(c.memory_mb), std::nullopt},
      {vm + "/maxmem", Int(c.maxmem_mb), std::nullopt},
      {vm + "/vcpus", Int(vcpus), std::nullopt},
      {vm + "/vcpu_avail", Int(avail), std::nullopt},
      {vm + "/on_poweroff", std::string(ToString(c.on_poweroff)), std::nullopt},
      {vm + "/on_reboot", std::string(ToString(c.on_reboot)), std::nullopt},
      {vm + "/on_crash", std::string(ToString(c.on_crash)), std::nullopt},
      {vm + "/start_time", start, std::nullopt},
      {vm + "/image/ostype", c.is_hvm() ? "hvm" : "linux", std::nullopt},
      {vm + "/image/kernel", c.image.kernel, std::nullopt},
      {vm + "/image/ramdisk", c.image.ramdisk, std::nullopt},
      {vm + "/image/cmdline", c.image.args, std::nullopt},
      {home, "", Dom0Owned(domid)},
      {home + "/name", c.name, std::nullopt},
      {home + "/domid", Int(domid), std::nullopt},
      {home + "/vm", vm, std::nullopt},
      {home + "/memory/target", Int(c.memory_mb * 1024), std::nullopt},
      {home + "/memory/static-max", Int(c.maxmem_mb * 1024), std::nullopt},
      {home + "/store/ring-ref", Int(p.store_mfn), std::nullopt},
      {home + "/store/port", Int(p.store_port), std::nullopt},
      {home + "/console/ring-ref", Int(p.console_mfn), std::nullopt},
      {home + "/console/port", Int(p.console_port), std::nullopt},
      {home + "/console/limit", "1048576", std::nullopt},
      {home + "/console/type", "xenconsoled", std::nullopt},
      {home + "/control", "", std::nullopt},
      {home + "/control/shutdown", "", GuestOwned(domid)},
      {home + "/control/platform-feature-multiprocessor-suspend", "1", std::nullopt},
      {home + "/data", "", GuestOwned(domid)},
      {home + "/device", "", Dom0Owned(domid)},
  };
  for (uint64_t i = 0; i < vcpus; ++i) {
    bool online = i >= 64 || ((avail >> i) & 1);
    out.push_back(
        {home + "/cpu/" + Int(i) + "/availability", online ? "online" : "offline", std::nullopt});
  }
  TXEND_ASSIGN_OR_RETURN(auto devices, DevicesOf(c));
  for (const auto& d : devices) {
    TXEND_ASSIGN_OR_RETURN(auto nodes, DeviceNodes(c, domid, d));
    out.insert(out.end(), nodes.begin(), nodes.end());
  }
  std::vector<Node> pci = PciNodes(c, domid);
  out.insert(out.end(), pci.begin(), pci.end());
  return out;
}

std::vector<std::string> DomainPaths(const std::string& uuid, uint32_t domid) {
  std::vector<std::string> paths = {DomainHome(domid), VmPath(uuid)};
  for (const char* type : kBackendTypes)
    paths.push_back(DomainHome(0) + "/backend/" + type + "/" + Int(domid));
  return paths;
}

}  // namespace txend::toolstack
