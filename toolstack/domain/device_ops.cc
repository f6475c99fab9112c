#include "toolstack/domain/device_ops.h"

#include <algorithm>
#include <chrono>
#include <memory>

#include "toolstack/domain/device_waits.h"

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

}  // namespace

Status DeviceOps::AttachDevice(std::string_view ref, const sxp::Value& device) {
  MutexLock lock(&ctx_.lifecycle_mu);
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, ctx_.registry.Running(ref));
  std::string_view kind = sxp::Name(device) == "device" && sxp::ChildAt(device, 0)
                              ? sxp::Name(*sxp::ChildAt(device, 0))
                              : sxp::Name(device);
  if (kind != "vbd" && kind != "tap" && kind != "tap2" && kind != "vif")
    return Status::Error(
        EINVAL, "can only attach vbd and vif devices, not (" + std::string(kind) + " ...)");
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
  TXEND_RETURN_IF_ERROR(
      WaitForBackends(ctx_, *d.domid, {added}, [&] { return ctx_.WriteInTransaction(nodes); }));
  return ctx_.registry.Update(std::move(attached));
}

Status DeviceOps::DetachDevice(std::string_view ref, std::string_view type, std::string_view dev,
                               bool force) {
  MutexLock lock(&ctx_.lifecycle_mu);
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, ctx_.registry.Running(ref));
  std::optional<DeviceRef> found = FindDevice(d, type, dev);
  if (!found)
    return Status::Error(ENODEV, "Domain '" + d.config().name + "' has no " + std::string(type) +
                                     " device " + std::string(dev));
  if (force) {
    TXEND_RETURN_IF_ERROR(xs::RunTransaction(
        ctx_.xs, [&](xs::Transaction& tx) { return tx.RmMany(DevicePaths(*d.domid, *found)); }));
  } else {
    TXEND_RETURN_IF_ERROR(CloseAndRemove(*d.domid, *found));
  }
  return ctx_.Reconfigure(Without(d.config(), *found));
}

// The backend goes Closing, the frontend closes, the backend reports Closed.
// Each state change is a watch event; once the initial event and two changes
// were seen, try the removal, and wait for more changes while the backend is
// not Closed yet.
Status DeviceOps::CloseAndRemove(uint32_t domid, const DeviceRef& device) {
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
