// Toolstack: attaching devices to running domains and detaching them.
#include <algorithm>

#include "toolstack/toolstack.h"

namespace txend::toolstack {

Status Toolstack::AttachDevice(std::string_view ref, const sxp::Value& device) {
  std::lock_guard lock(ops_mu_);
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, registry_->Running(ref));
  std::string_view kind = sxp::Name(device) == "device" && sxp::ChildAt(device, 0)
                              ? sxp::Name(*sxp::ChildAt(device, 0))
                              : sxp::Name(device);
  if (kind != "vbd" && kind != "tap" && kind != "tap2" && kind != "vif")
    return Status::Error(
        EINVAL, "can only attach vbd and vif devices, not (" + std::string(kind) + " ...)");
  DomainConfig config = d.config();
  const std::vector<DeviceRef>& before = d.registered->devices;
  // xend's defaults and duplicate checks (same disk, same guest device, same MAC).
  TXEND_RETURN_IF_ERROR(AddDevice(config, device, options_.random));
  DeviceRef added;
  if (kind == "vif") {
    uint32_t devid = 0;
    for (const auto& e : before)
      if (e.type == "vif") devid = std::max(devid, e.devid + 1);
    SetVifDevid(config.vifs.back(), devid);
    added = {"vif", devid, config.vifs.size() - 1};
  }
  TXEND_ASSIGN_OR_RETURN(ValidConfig valid, CheckConfig(std::move(config)));
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
      WaitForBackends(*d.domid, {added}, [&] { return WriteInTransaction(nodes); }));
  return registry_->Update(std::move(attached));
}

Status Toolstack::DetachDevice(std::string_view ref, std::string_view type, std::string_view dev,
                               bool force) {
  std::lock_guard lock(ops_mu_);
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, registry_->Running(ref));
  const std::vector<DeviceRef>& devices = d.registered->devices;
  std::optional<DeviceRef> found;
  for (const auto& r : devices) {
    if (r.type != type) continue;
    bool match = std::to_string(r.devid) == dev ||
                 (type == "vbd" && d.config().vbds[r.index].dev.substr(
                                       0, d.config().vbds[r.index].dev.find(':')) == dev);
    if (match) found = r;
  }
  if (!found)
    return Status::Error(ENODEV, "Domain '" + d.config().name + "' has no " + std::string(type) +
                                     " device " + std::string(dev));
  std::string be = found->BackendPath(*d.domid), fe = found->FrontendPath(*d.domid);
  auto remove = [&](xs::Transaction& tx) -> Status {
    if (!force) {
      TXEND_ASSIGN_OR_RETURN(std::string state, tx.Read(be + "/state"));
      if (XenbusStateFromNode(state) != XenbusState::kClosed)
        return Status::Error(
            EBUSY, "Device " + std::string(type) + " " + std::to_string(found->devid) +
                       " did not close (backend state " + state + "); use force to remove it");
    }
    return tx.RmMany(std::vector<std::string>{fe, be});
  };
  if (force) {
    TXEND_RETURN_IF_ERROR(xs::RunTransaction(xs_, remove));
  } else {
    // Take the backend offline: it goes Closing, the frontend closes, the
    // backend reports Closed. Each state change is a watch event; once the
    // initial event and two changes were seen, try the removal, and wait
    // for more changes while the backend is not Closed yet.
    struct Seen {
      std::mutex mu;
      std::condition_variable cv;
      int events = 0;
    };
    auto seen = std::make_shared<Seen>();
    TXEND_ASSIGN_OR_RETURN(
        xs::Watch w, xs_.AddWatch(be + "/state", [seen](const std::string&, const std::string&) {
          std::lock_guard lock(seen->mu);
          ++seen->events;
          seen->cv.notify_all();
        }));
    TXEND_RETURN_IF_ERROR(xs::RunTransaction(
        xs_, [&](xs::Transaction& tx) { return tx.Write(be + "/online", "0"); }));
    auto deadline = std::chrono::steady_clock::now() + options_.device_timeout;
    int wanted = 3;
    while (true) {
      {
        std::unique_lock lock(seen->mu);
        seen->cv.wait_until(lock, deadline, [&] { return seen->events >= wanted; });
        wanted = seen->events + 1;
      }
      Status st = xs::RunTransaction(xs_, remove);
      if (st.ok()) break;
      if (st.code() != EBUSY || std::chrono::steady_clock::now() >= deadline) return st;
    }
  }
  DomainConfig config = d.config();
  if (found->type == "vbd")
    config.vbds.erase(config.vbds.begin() + static_cast<long>(found->index));
  if (found->type == "vif") {
    for (size_t i = 0; i < config.vifs.size(); ++i)  // keep the others' ids fixed
      if (!VifDevid(config.vifs[i])) SetVifDevid(config.vifs[i], static_cast<uint32_t>(i));
    config.vifs.erase(config.vifs.begin() + static_cast<long>(found->index));
  }
  return Reconfigure(std::move(config));
}

}  // namespace txend::toolstack
