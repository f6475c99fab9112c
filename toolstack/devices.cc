// Toolstack: attaching devices to running domains and detaching them.
#include <algorithm>

#include "toolstack/toolstack.h"

namespace txend::toolstack {

Status Toolstack::AttachDevice(std::string_view ref, const sxp::Value& device) {
  std::lock_guard lock(ops_mu_);
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, Running(ref));
  // Parse the device through the config reader, so validation is the same as at create.
  sxp::Value vm = sxp::Value::List({sxp::Value::Atom("vm")});
  vm.Add("name", d.config.name).Add(sxp::Value::List({sxp::Value::Atom("device"), device}));
  vm.Add(sxp::Value::List({sxp::Value::Atom("image"), sxp::Value::List({sxp::Value::Atom("linux"), sxp::Value::Pair("kernel", "-")})}));
  TXEND_ASSIGN_OR_RETURN(DomainConfig parsed, DomainConfig::FromSxp(vm));
  DomainConfig config = d.config;
  DeviceRef added;
  if (!parsed.disks.empty()) {
    TXEND_ASSIGN_OR_RETURN(uint32_t devid, VbdDevid(parsed.disks[0].dev));
    TXEND_ASSIGN_OR_RETURN(auto existing, DevicesOf(config));
    for (const auto& e : existing)
      if (e.type == "vbd" && e.devid == devid)
        return Status::Error(EEXIST, "Domain '" + config.name + "' already has disk " + parsed.disks[0].dev);
    config.disks.push_back(parsed.disks[0]);
    added = {"vbd", devid, config.disks.size() - 1};
  } else if (!parsed.vifs.empty()) {
    TXEND_ASSIGN_OR_RETURN(auto existing, DevicesOf(config));
    uint32_t devid = 0;
    for (const auto& e : existing)
      if (e.type == "vif") devid = std::max(devid, e.devid + 1);
    VifSpec vif = parsed.vifs[0];
    vif.devid = devid;
    config.vifs.push_back(vif);
    config.FillDefaults(options_.random);  // a MAC when none was given
    added = {"vif", devid, config.vifs.size() - 1};
  } else {
    return Status::Error(EINVAL, "can only attach vbd and vif devices, not (" + std::string(device.name()) + " ...)");
  }
  TXEND_RETURN_IF_ERROR(config.Validate());
  TXEND_ASSIGN_OR_RETURN(auto nodes, DeviceNodes(config, *d.domid, added));
  TXEND_RETURN_IF_ERROR(WaitForBackends(*d.domid, {added}, [&] { return WriteInTransaction(nodes); }));
  return registry_->Update(config.uuid, config);
}

Status Toolstack::DetachDevice(std::string_view ref, std::string_view type, std::string_view dev, bool force) {
  std::lock_guard lock(ops_mu_);
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, Running(ref));
  TXEND_ASSIGN_OR_RETURN(auto devices, DevicesOf(d.config));
  std::optional<DeviceRef> found;
  for (const auto& r : devices) {
    if (r.type != type) continue;
    bool match = std::to_string(r.devid) == dev ||
                 (type == "vbd" && d.config.disks[r.index].dev.substr(0, d.config.disks[r.index].dev.find(':')) == dev);
    if (match) found = r;
  }
  if (!found)
    return Status::Error(ENODEV, "Domain '" + d.config.name + "' has no " + std::string(type) + " device " + std::string(dev));
  std::string be = found->BackendPath(*d.domid), fe = found->FrontendPath(*d.domid);
  auto remove = [&](xs::Transaction& tx) -> Status {
    if (!force) {
      TXEND_ASSIGN_OR_RETURN(std::string state, tx.Read(be + "/state"));
      if (state != "6")
        return Status::Error(EBUSY, "Device " + std::string(type) + " " + std::to_string(found->devid) +
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
    TXEND_ASSIGN_OR_RETURN(xs::Watch w, xs_.AddWatch(be + "/state", [seen](const std::string&, const std::string&) {
      std::lock_guard lock(seen->mu);
      ++seen->events;
      seen->cv.notify_all();
    }));
    TXEND_RETURN_IF_ERROR(xs::RunTransaction(xs_, [&](xs::Transaction& tx) { return tx.Write(be + "/online", "0"); }));
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
  DomainConfig config = d.config;
  if (found->type == "vbd") config.disks.erase(config.disks.begin() + static_cast<long>(found->index));
  if (found->type == "vif") {
    for (size_t i = 0; i < config.vifs.size(); ++i)  // keep the others' ids fixed
      if (!config.vifs[i].devid) config.vifs[i].devid = static_cast<uint32_t>(i);
    config.vifs.erase(config.vifs.begin() + static_cast<long>(found->index));
  }
  return registry_->Update(config.uuid, config);
}

}  // namespace txend::toolstack
