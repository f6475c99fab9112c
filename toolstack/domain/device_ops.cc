#include "toolstack/domain/device_ops.h"

#include <algorithm>
#include <chrono>
#include <iterator>
#include <memory>

#include "base/numbers.h"
#include "toolstack/config/block_device_name.h"
#include "toolstack/config/device_config.h"
#include "toolstack/domain/device_waits.h"
#include "toolstack/domain/host_pci.h"
#include "toolstack/domain/lifecycle.h"

namespace txend::toolstack {
namespace {

// The device `dev` names: a vbd's name (xvdb) or number, a vif's index.
std::optional<DeviceRef> FindDevice(const RegisteredDomain& d, std::string_view type,
                                    std::string_view dev) {
  std::optional<DeviceRef> found;
  for (const auto& r : d.registered->devices) {
    if (r.type != type) continue;
    const std::string* name = type == "vbd" ? &d.config().vbds[r.index].dev : nullptr;
    if (std::to_string(r.devid) == dev || (name && name->substr(0, name->find(':')) == dev))
      found = r;
  }
  return found;
}

std::vector<std::string> DevicePaths(uint32_t domid, const DeviceRef& device) {
  return {device.FrontendPath(domid), device.BackendPath(domid)};
}

// The config without `device`; the other vifs keep their ids.
DomainConfig Without(const DomainConfig& with, const DeviceRef& device) {
  DomainConfig config = with;
  if (device.type == "vbd")
    config.vbds.erase(config.vbds.begin() + static_cast<long>(device.index));
  if (device.type == "vif") {
    for (size_t i = 0; i < config.vifs.size(); ++i)
      if (!VifDevid(config.vifs[i])) SetVifDevid(config.vifs[i], static_cast<uint32_t>(i));
    config.vifs.erase(config.vifs.begin() + static_cast<long>(device.index));
  }
  return config;
}

bool IsCdrom(const VbdConfig& vbd) { return vbd.dev.ends_with(":cdrom"); }

// "xvdc" for "xvdc:cdrom" or "ioemu:hdc".
std::string DriveName(std::string dev) {
  if (dev.starts_with("ioemu:")) dev = dev.substr(6);
  return dev.substr(0, dev.find(':'));
}

// The config with `media` in the CD-ROM drive it names (xend's checks).
Result<DomainConfig> WithMedia(const DomainConfig& with, const VbdConfig& media, size_t& index) {
  DomainConfig config = with;
  auto number = VbdDeviceNumber(media.dev);
  auto drive = std::find_if(config.vbds.begin(), config.vbds.end(), [&](const VbdConfig& v) {
    return number && VbdDeviceNumber(v.dev) == number;
  });
  if (drive == config.vbds.end())
    return Status::Error(ENODEV, "Domain '" + config.name + "' has no vbd " + DriveName(media.dev));
  if (!IsCdrom(*drive) || !IsCdrom(media))
    return Status::Error(EINVAL, "vbd " + DriveName(drive->dev) +
                                     " is not a CD-ROM: only a CD-ROM drive's media can be "
                                     "changed (detach the disk and attach another)");
  if (drive->mode != "r" || media.mode != "r")
    return Status::Error(EINVAL, "CD-ROM " + DriveName(drive->dev) +
                                     " is read-only: its media are changed with mode r");
  drive->uname = media.uname;
  index = static_cast<size_t>(drive - config.vbds.begin());
  return config;
}

bool SameFunction(const PciDevice& a, const PciDevice& b) {
  return a.domain == b.domain && a.bus == b.bus && a.slot == b.slot && a.func == b.func;
}

// The functions `d` may be given: assignable on this host, held by no other running domain.
Status CheckAssignable(const DomainContext& ctx, const RegisteredDomain& d,
                       const std::vector<PciDevice>& functions) {
  std::vector<PciDevice> host = AssignablePciDevices(ctx.options.sysfs_root);
  std::vector<RegisteredDomain> all = ctx.registry.All();
  for (const PciDevice& f : functions) {
    if (std::none_of(host.begin(), host.end(), [&](const auto& h) { return SameFunction(h, f); }))
      return Status::Error(EINVAL, "PCI device " + PciName(f) +
                                       " is not assignable: bind it to pciback or pci-stub "
                                       "first (see xm pci-list-assignable-devices)");
    for (const RegisteredDomain& other : all) {
      if (!other.domid || other.config().uuid == d.config().uuid) continue;
      for (const PciDevice& held : other.config().pci)
        if (SameFunction(held, f))
          return Status::Error(EBUSY, "PCI device " + PciName(f) +
                                          " is already assigned to domain '" + other.config().name +
                                          "'");
    }
  }
  return Status::Ok();
}

}  // namespace

Status DeviceOps::ConfigurePci(std::string_view ref, const sxp::Value& pci) {
  const sxp::Value* dev = sxp::Name(pci) == "device" ? sxp::ChildAt(pci, 0) : &pci;
  if (dev == nullptr || sxp::Name(*dev) != "pci")
    return Status::Error(EINVAL, "expected (pci (dev ...) ...), got " + sxp::ToString(pci));
  TXEND_ASSIGN_OR_RETURN(std::vector<PciDevice> functions, ParsePci(*dev));
  std::string state = sxp::ChildValue(*dev, "state", "Initialising");
  if (state != "Initialising" && state != "Closing")
    return Status::Error(EINVAL, "pci: state '" + state + "': expected Initialising or Closing");
  if (functions.empty()) return Status::Error(EINVAL, "pci: no (dev ...) given");
  return ChangePci(ref, functions, state == "Initialising");
}

Status DeviceOps::ChangePci(std::string_view ref, const std::vector<PciDevice>& functions,
                            bool attach) {
  TXEND_ASSIGN_OR_RETURN(LockedDomain locked, ctx_.LockDomain(ref, "configure", false));
  const RegisteredDomain& d = locked.domain;
  DomainConfig config = d.config();
  if (attach) {
    TXEND_RETURN_IF_ERROR(CheckAssignable(ctx_, d, functions));
    config.pci.insert(config.pci.end(), functions.begin(), functions.end());
  } else {
    for (const PciDevice& f : functions) {
      auto held = std::find_if(config.pci.begin(), config.pci.end(),
                               [&](const PciDevice& p) { return SameFunction(p, f); });
      if (held == config.pci.end())
        return Status::Error(ENODEV,
                             "Domain '" + config.name + "' has no PCI device " + PciName(f));
      config.pci.erase(held);
    }
  }
  TXEND_ASSIGN_OR_RETURN(ValidConfig valid, ctx_.CheckConfig(std::move(config)));
  TXEND_ASSIGN_OR_RETURN(auto changed, RegisteredConfig::Make(std::move(valid)));
  if (d.domid) TXEND_RETURN_IF_ERROR(RewritePciNodes(*d.domid, *changed->config));
  return ctx_.registry.Update(std::move(changed));
}

// A new pciback device is written whole; an existing one gets its function
// entries and num_devs written again and those of removed functions deleted,
// as xend's reconfigureDevice (without the Reconfiguring handshake); with no
// function left it goes (one transaction).
Status DeviceOps::RewritePciNodes(uint32_t domid, const DomainConfig& config) {
  DeviceRef pci{"pci", kPciDevid, 0};
  const std::string be = pci.BackendPath(domid);
  auto all = PciNodes(config, domid);
  auto is_function_entry = [&](const std::string& path) {
    if (!path.starts_with(be + "/")) return false;
    std::string key = path.substr(be.size() + 1);
    if (key == "num_devs") return true;
    for (const char* prefix : {"dev-", "uuid-", "key-", "vdevfn-", "opts-", "state-"})
      if (key.starts_with(prefix)) return true;
    return false;
  };
  return xs::RunTransaction(ctx_.xs, [&](xs::Transaction& tx) -> Status {
    if (all.empty()) {
      const std::vector<std::string> gone = {pci.FrontendPath(domid), be};
      return tx.RmMany(gone, true);
    }
    auto had = tx.Read(be + "/num_devs");
    if (!had.ok()) return tx.WriteMany(all);
    size_t before = ParseInteger<size_t>(*had).value_or(0);
    std::vector<xs::Transaction::NodeWrite> entries;
    std::copy_if(all.begin(), all.end(), std::back_inserter(entries),
                 [&](const auto& n) { return is_function_entry(n.path); });
    std::vector<std::string> stale;
    for (size_t i = 0; i < before; ++i)
      for (const char* key : {"dev-", "uuid-", "key-", "vdevfn-", "opts-", "state-"}) {
        std::string path = be + "/" + key + std::to_string(i);
        if (std::none_of(entries.begin(), entries.end(),
                         [&](const auto& n) { return n.path == path; }))
          stale.push_back(path);
      }
    TXEND_RETURN_IF_ERROR(tx.RmMany(stale, true));
    return tx.WriteMany(entries);
  });
}

Status DeviceOps::ConfigureDevice(std::string_view ref, const sxp::Value& device) {
  const sxp::Value* dev = sxp::Name(device) == "device" ? sxp::ChildAt(device, 0) : &device;
  std::string_view kind = dev ? sxp::Name(*dev) : "";
  if (kind == "pci") return ConfigurePci(ref, *dev);
  if (kind != "vbd" && kind != "tap" && kind != "tap2")
    return Status::Error(EINVAL,
                         "can only change the media of CD-ROM drives, or PCI devices, not (" +
                             std::string(kind) + " ...)");
  TXEND_ASSIGN_OR_RETURN(VbdConfig media, ParseVbd(*dev));
  TXEND_ASSIGN_OR_RETURN(LockedDomain locked, ctx_.LockDomain(ref, "configure", false));
  const RegisteredDomain& d = locked.domain;
  size_t index = 0;
  TXEND_ASSIGN_OR_RETURN(DomainConfig config, WithMedia(d.config(), media, index));
  TXEND_ASSIGN_OR_RETURN(ValidConfig valid, ctx_.CheckConfig(std::move(config)));
  TXEND_ASSIGN_OR_RETURN(auto changed, RegisteredConfig::Make(std::move(valid)));
  if (d.domid) {
    auto drive =
        std::find_if(changed->devices.begin(), changed->devices.end(),
                     [&](const DeviceRef& r) { return r.type == "vbd" && r.index == index; });
    if (drive == changed->devices.end()) return Status::Error(ENODEV, "CD-ROM drive not found");
    TXEND_ASSIGN_OR_RETURN(auto nodes, DeviceNodes(*changed->config, *d.domid, *drive));
    std::string be = drive->BackendPath(*d.domid);
    std::vector<xs::Transaction::NodeWrite> insert;
    for (const auto& node : nodes)
      if (node.path == be + "/type" || node.path == be + "/params") insert.push_back(node);
    // As xend: the backend first sees the drive empty, then the new media.
    std::vector<xs::Transaction::NodeWrite> eject = {{be + "/params", "", std::nullopt}};
    TXEND_RETURN_IF_ERROR(ctx_.WriteInTransaction(eject));
    TXEND_RETURN_IF_ERROR(ctx_.WriteInTransaction(insert));
    if (changed->config->is_hvm())  // the guest sees the emulated drive: qemu changes it
      TXEND_RETURN_IF_ERROR(ctx_.device_models.ChangeMedia(*d.domid, DriveName(media.dev),
                                                           BlockBackingPath(media.uname)));
  }
  return ctx_.registry.Update(std::move(changed));
}

Status DeviceOps::AttachDevice(std::string_view ref, const sxp::Value& device) {
  const sxp::Value* inner = sxp::Name(device) == "device" ? sxp::ChildAt(device, 0) : &device;
  if (inner && sxp::Name(*inner) == "pci") return ConfigurePci(ref, *inner);
  TXEND_ASSIGN_OR_RETURN(LockedDomain locked, ctx_.LockDomain(ref, kOpAttach, true));
  const RegisteredDomain& d = locked.domain;
  std::string_view kind = sxp::Name(device) == "device" && sxp::ChildAt(device, 0)
                              ? sxp::Name(*sxp::ChildAt(device, 0))
                              : sxp::Name(device);
  if (kind != "vbd" && kind != "tap" && kind != "tap2" && kind != "vif")
    return Status::Error(
        EINVAL, "can only attach vbd, vif and pci devices, not (" + std::string(kind) + " ...)");
  DomainConfig config = d.config();
  const std::vector<DeviceRef>& before = d.registered->devices;
  // xend's defaults and duplicate checks (same disk, same guest device, same MAC).
  TXEND_RETURN_IF_ERROR(AddDevice(config, device, ctx_.options.random));
  DeviceRef added;
  if (kind == "vif") {
    uint32_t devid = 0;
    for (const auto& e : before)
      if (e.type == "vif") devid = std::max(devid, e.devid + 1);
    SetVifDevid(config.vifs.back(), devid);
    added = {"vif", devid, config.vifs.size() - 1};
  }
  TXEND_ASSIGN_OR_RETURN(ValidConfig valid, ctx_.CheckConfig(std::move(config)));
  TXEND_ASSIGN_OR_RETURN(auto attached, RegisteredConfig::Make(std::move(valid)));
  const DomainConfig& c = *attached->config;
  if (kind != "vif") {
    for (const auto& e : attached->devices)
      if (e.type == "vbd" && e.index == c.vbds.size() - 1) added = e;
    for (const auto& e : before)
      if (e.type == "vbd" && e.devid == added.devid)
        return Status::Error(EEXIST,
                             "Domain '" + c.name + "' already has disk " + c.vbds.back().dev);
  }
  TXEND_ASSIGN_OR_RETURN(auto nodes, DeviceNodes(c, *d.domid, added));
  Intent intent = Lifecycle::IntentFor(kOpAttach, d);
  intent.device_type = added.type;
  intent.devid = added.devid;
  TXEND_ASSIGN_OR_RETURN(Operation op, ctx_.Begin(std::move(locked.lock), std::move(intent)));
  bool written = false;
  Status st = WaitForBackends(ctx_, *d.domid, {added}, [&]() -> Status {
    TXEND_RETURN_IF_ERROR(ctx_.WriteInTransaction(nodes));
    written = true;
    op.Step("nodes");
    return Status::Ok();
  });
  op.Step("connected");
  if (st.ok()) st = ctx_.registry.Update(std::move(attached));
  if (!st.ok()) {  // the device is not the domain's: take it away again
    if (written && !RemoveNodes(*d.domid, added).ok()) op.intent.Keep();
    return st;
  }
  op.Step("registered");
  return Status::Ok();
}

Status DeviceOps::RemoveNodes(uint32_t domid, const DeviceRef& device) {
  return ctx_.RemoveInTransaction(DevicePaths(domid, device));
}

Status DeviceOps::DetachDevice(std::string_view ref, std::string_view type, std::string_view dev,
                               bool force) {
  if (type == "pci") {  // dev: the function, "0000:03:00.0"
    TXEND_ASSIGN_OR_RETURN(PciDevice function, ParsePciSpec(dev));
    return ChangePci(ref, {function}, false);
  }
  TXEND_ASSIGN_OR_RETURN(LockedDomain locked, ctx_.LockDomain(ref, kOpDetach, true));
  const RegisteredDomain& d = locked.domain;
  std::optional<DeviceRef> found = FindDevice(d, type, dev);
  if (!found)
    return Status::Error(ENODEV, "Domain '" + d.config().name + "' has no " + std::string(type) +
                                     " device " + std::string(dev));
  DomainConfig without = Without(d.config(), *found);
  Intent intent = Lifecycle::IntentFor(kOpDetach, d);
  intent.device_type = found->type;
  intent.devid = found->devid;
  intent.config = ToSxp(without);
  TXEND_ASSIGN_OR_RETURN(Operation op, ctx_.Begin(std::move(locked.lock), std::move(intent)));
  if (force) {
    TXEND_RETURN_IF_ERROR(RemoveNodes(*d.domid, *found));
  } else {
    TXEND_RETURN_IF_ERROR(CloseAndRemove(op, *d.domid, *found));
  }
  op.Step("removed");
  Status st = ctx_.Reconfigure(std::move(without));
  if (!st.ok()) op.intent.Keep();  // the device is gone: recovery records the config
  return st;
}

// The backend goes Closing, the frontend closes, the backend reports Closed.
// Each state change is a watch event; once the initial event and two changes
// were seen, try the removal, and wait for more changes while the backend is
// not Closed yet.
Status DeviceOps::CloseAndRemove(const Operation& op, uint32_t domid, const DeviceRef& device) {
  const std::string be = device.BackendPath(domid);
  auto remove = [&](xs::Transaction& tx) -> Status {
    TXEND_ASSIGN_OR_RETURN(std::string state, tx.Read(be + "/state"));
    if (XenbusStateFromNode(state) != XenbusState::kClosed)
      return Status::Error(EBUSY, "Device " + device.type + " " + std::to_string(device.devid) +
                                      " did not close (backend state " + state +
                                      "); use force to remove it");
    return tx.RmMany(DevicePaths(domid, device));
  };
  struct Seen {
    Mutex mu;
    CondVar changed{&mu};
    int events GUARDED_BY(mu) = 0;
  };
  auto seen = std::make_shared<Seen>();
  TXEND_ASSIGN_OR_RETURN(
      xs::Watch w, ctx_.xs.AddWatch(be + "/state", [seen](const std::string&, const std::string&) {
        MutexLock lock(&seen->mu);
        ++seen->events;
        seen->changed.SignalAll();
      }));
  TXEND_RETURN_IF_ERROR(xs::RunTransaction(
      ctx_.xs, [&](xs::Transaction& tx) { return tx.Write(be + "/online", "0"); }));
  op.Step("offline");
  const auto deadline = std::chrono::steady_clock::now() + ctx_.options.device_timeout;
  int wanted = 3;
  while (true) {
    {
      MutexLock lock(&seen->mu);
      while (seen->events < wanted && seen->changed.WaitUntil(deadline)) {
      }
      wanted = seen->events + 1;
    }
    Status st = xs::RunTransaction(ctx_.xs, remove);
    if (st.ok() || st.code() != EBUSY || std::chrono::steady_clock::now() >= deadline) return st;
  }
}

}  // namespace txend::toolstack
