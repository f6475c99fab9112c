#include "toolstack/xenstore_layout.h"

#include <cstdio>

namespace txend::toolstack {
namespace {

using wire::Access;
using Node = xs::Transaction::NodeWrite;

constexpr const char* kBackendTypes[] = {"vbd", "tap", "tap2", "qdisk", "vif", "vfb", "vkbd", "console", "pci"};

// Perms for what dom0 owns and the guest may read; and for what the guest owns.
wire::Perms Dom0Owned(uint32_t domid) { return {{0, Access::kNone}, {domid, Access::kRead}}; }
wire::Perms GuestOwned(uint32_t domid) { return {{domid, Access::kNone}, {0, Access::kRead}}; }

std::string Int(uint64_t v) { return std::to_string(v); }

std::string DiskType(const std::string& uname) {
  std::string prefix = uname.substr(0, uname.find(':'));
  return prefix == "tap" || prefix == "tap2" ? "tap" : prefix;
}

std::string DiskParams(const std::string& uname) {
  std::string rest = uname.substr(uname.find(':') + 1);
  if (uname.starts_with("tap:") || uname.starts_with("tap2:")) {  // tap:aio:/path
    size_t colon = rest.find(':');
    if (colon != std::string::npos) return rest.substr(colon + 1);
  }
  return rest;
}

std::string VbdName(const std::string& dev) { return dev.substr(0, dev.find(':')); }

// Frontend nodes common to every device, then its own.
void Pair(std::vector<Node>& out, uint32_t domid, const DeviceRef& d,
          const std::vector<std::pair<std::string, std::string>>& front,
          const std::vector<std::pair<std::string, std::string>>& back) {
  std::string fe = d.FrontendPath(domid), be = d.BackendPath(domid);
  out.push_back({fe, "", GuestOwned(domid)});
  out.push_back({fe + "/backend", be, std::nullopt});
  out.push_back({fe + "/backend-id", "0", std::nullopt});
  out.push_back({fe + "/state", Int(static_cast<int>(XenbusState::kInitialising)), std::nullopt});
  for (const auto& [k, v] : front) out.push_back({fe + "/" + k, v, std::nullopt});
  out.push_back({be, "", Dom0Owned(domid)});
  out.push_back({be + "/frontend", fe, std::nullopt});
  out.push_back({be + "/frontend-id", Int(domid), std::nullopt});
  out.push_back({be + "/online", "1", std::nullopt});
  out.push_back({be + "/state", Int(static_cast<int>(XenbusState::kInitialising)), std::nullopt});
  for (const auto& [k, v] : back) out.push_back({be + "/" + k, v, std::nullopt});
}

}  // namespace

std::string DeviceRef::FrontendPath(uint32_t domid) const {
  return DomainHome(domid) + "/device/" + type + "/" + Int(devid);
}

std::string DeviceRef::BackendPath(uint32_t domid, uint32_t backend_domid) const {
  return DomainHome(backend_domid) + "/backend/" + type + "/" + Int(domid) + "/" + Int(devid);
}

std::string VmPath(const std::string& uuid) { return "/vm/" + uuid; }
std::string DomainHome(uint32_t domid) { return "/local/domain/" + Int(domid); }

Result<std::vector<DeviceRef>> DevicesOf(const DomainConfig& config) {
  std::vector<DeviceRef> out;
  for (size_t i = 0; i < config.disks.size(); ++i) {
    TXEND_ASSIGN_OR_RETURN(uint32_t devid, VbdDevid(config.disks[i].dev));
    for (const auto& d : out)
      if (d.devid == devid) return Status::Error(EINVAL, "disk " + config.disks[i].dev + " is given twice");
    out.push_back({"vbd", devid, i});
  }
  for (size_t i = 0; i < config.vifs.size(); ++i)
    out.push_back({"vif", config.vifs[i].devid.value_or(static_cast<uint32_t>(i)), i});
  for (size_t i = 0; i < config.vfbs.size(); ++i) {
    out.push_back({"vfb", static_cast<uint32_t>(i), i});
    out.push_back({"vkbd", static_cast<uint32_t>(i), i});
  }
  return out;
}

Result<std::vector<Node>> DeviceNodes(const DomainConfig& config, uint32_t domid, const DeviceRef& d) {
  std::vector<Node> out;
  if (d.type == "vbd") {
    const DiskSpec& disk = config.disks.at(d.index);
    bool cdrom = disk.dev.find(":cdrom") != std::string::npos;
    std::string devtype = cdrom ? "cdrom" : "disk";
    Pair(out, domid, d, {{"virtual-device", Int(d.devid)}, {"device-type", devtype}},
         {{"params", DiskParams(disk.uname)}, {"type", DiskType(disk.uname)}, {"mode", disk.mode == "r" ? "r" : "w"},
          {"dev", VbdName(disk.dev)}, {"device-type", devtype}, {"removable", cdrom ? "1" : "0"},
          {"bootable", d.index == 0 ? "1" : "0"}});
  } else if (d.type == "vif") {
    const VifSpec& vif = config.vifs.at(d.index);
    std::vector<std::pair<std::string, std::string>> back = {
        {"mac", vif.mac}, {"handle", Int(d.devid)},
        {"script", vif.script.empty() ? "/etc/xen/scripts/vif-bridge" : vif.script}};
    for (const auto& [k, v] : {std::pair{"bridge", vif.bridge}, {"ip", vif.ip}, {"vifname", vif.vifname},
                               {"model", vif.model}, {"type", vif.type}, {"rate", vif.rate}})
      if (!v.empty()) back.emplace_back(k, v);
    Pair(out, domid, d, {{"handle", Int(d.devid)}, {"mac", vif.mac}}, back);
  } else if (d.type == "vfb") {
    std::vector<std::pair<std::string, std::string>> back(config.vfbs.at(d.index).options.begin(),
                                                          config.vfbs.at(d.index).options.end());
    Pair(out, domid, d, {}, back);
  } else if (d.type == "vkbd") {
    Pair(out, domid, d, {}, {});
  } else {
    return Status::Error(EINVAL, "unknown device type " + d.type);
  }
  return out;
}

Result<std::vector<Node>> DomainNodes(const DomainConfig& c, const DomainPlacement& p) {
  uint32_t domid = p.domid;
  std::string vm = VmPath(c.uuid), home = DomainHome(domid);
  char start[32];
  snprintf(start, sizeof start, "%.2f", p.start_time);
  std::vector<Node> out = {
      {vm, "", Dom0Owned(domid)},
      {vm + "/uuid", c.uuid, std::nullopt},
      {vm + "/name", c.name, std::nullopt},
      {vm + "/memory", Int(c.memory_mib), std::nullopt},
      {vm + "/maxmem", Int(c.max_mib()), std::nullopt},
      {vm + "/vcpus", Int(c.vcpus), std::nullopt},
      {vm + "/vcpu_avail", Int(c.vcpu_avail ? c.vcpu_avail : (c.vcpus >= 64 ? ~0u : (1u << c.vcpus) - 1)), std::nullopt},
      {vm + "/on_poweroff", c.on_poweroff, std::nullopt},
      {vm + "/on_reboot", c.on_reboot, std::nullopt},
      {vm + "/on_crash", c.on_crash, std::nullopt},
      {vm + "/start_time", start, std::nullopt},
      {vm + "/image/ostype", c.hvm() ? "hvm" : "linux", std::nullopt},
      {vm + "/image/kernel", c.kernel, std::nullopt},
      {vm + "/image/ramdisk", c.ramdisk, std::nullopt},
      {vm + "/image/cmdline", c.CommandLine(), std::nullopt},
      {home, "", Dom0Owned(domid)},
      {home + "/name", c.name, std::nullopt},
      {home + "/domid", Int(domid), std::nullopt},
      {home + "/vm", vm, std::nullopt},
      {home + "/memory/target", Int(c.memory_mib * 1024), std::nullopt},
      {home + "/memory/static-max", Int(c.max_mib() * 1024), std::nullopt},
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
  for (uint32_t i = 0; i < c.vcpus; ++i) {
    bool online = c.vcpu_avail == 0 || (i < 32 && (c.vcpu_avail >> i) & 1);
    out.push_back({home + "/cpu/" + Int(i) + "/availability", online ? "online" : "offline", std::nullopt});
  }
  TXEND_ASSIGN_OR_RETURN(auto devices, DevicesOf(c));
  for (const auto& d : devices) {
    TXEND_ASSIGN_OR_RETURN(auto nodes, DeviceNodes(c, domid, d));
    out.insert(out.end(), nodes.begin(), nodes.end());
  }
  return out;
}

std::vector<std::string> DomainPaths(const std::string& uuid, uint32_t domid) {
  std::vector<std::string> paths = {DomainHome(domid), VmPath(uuid)};
  for (const char* type : kBackendTypes) paths.push_back(DomainHome(0) + "/backend/" + type + "/" + Int(domid));
  return paths;
}

}  // namespace txend::toolstack
