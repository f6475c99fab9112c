#include "toolstack/domain/recovery.h"

#include <unistd.h>

#include <set>

#include "base/numbers.h"

namespace txend::toolstack {
namespace {

bool HasDevice(const RegisteredDomain& d, const std::string& type, uint32_t devid) {
  for (const auto& dev : d.registered->devices)
    if (dev.type == type && dev.devid == devid) return true;
  return false;
}

std::string Joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

class Recovery {
 public:
  Recovery(DomainContext& ctx, Lifecycle& lifecycle) : ctx_(ctx), lifecycle_(lifecycle) {}

  Status Run() {
    TXEND_RETURN_IF_ERROR(RegisterRunning());
    RecoverIntents();
    TXEND_RETURN_IF_ERROR(WriteForgotten());
    return SweepOrphans();
  }

 private:
  // Step 1: every domain the hypervisor runs that has a recorded config.
  Status RegisterRunning() {
    TXEND_ASSIGN_OR_RETURN(auto domains, ctx_.hv.ListDomains());
    std::vector<std::pair<DomainInfo, std::shared_ptr<const RegisteredConfig>>> ours;
    std::vector<std::string> start_paths;
    for (const auto& info : domains) {
      auto config =
          info.domid == kDom0 ? nullptr : ctx_.registry.RunningConfig(info.uuid.ToString());
      if (!config || info.dying) continue;
      ours.emplace_back(info, config);
      start_paths.push_back(VmPath(config->config->uuid) + "/start_time");
    }
    TXEND_ASSIGN_OR_RETURN(auto snap, xs::Snapshot::Begin(ctx_.xs));
    auto starts = snap.ReadMany(start_paths);
    for (size_t i = 0; i < ours.size(); ++i) {
      const auto& [info, config] = ours[i];
      bool known = starts[i].ok();
      double start_time = known ? ParseDouble(*starts[i]).value_or(ctx_.options.wall_clock())
                                : ctx_.options.wall_clock();
      TXEND_RETURN_IF_ERROR(ctx_.registry.AddRunning(config, info.domid, start_time).status());
      if (!known) forgotten_.push_back(info.domid);  // an xsd restarted without persistence
    }
    return Status::Ok();
  }

  // Step 2.
  void RecoverIntents() {
    for (auto& pending : ctx_.intents.Pending()) {
      if (!pending.ok()) {
        ctx_.Say("recovery: skipped an unreadable intent: " + pending.status().message());
        continue;
      }
      const Intent& intent = *pending;
      Status st = RecoverIntent(intent);
      if (!st.ok()) {
        ctx_.Say("recovery: could not finish or undo the " + intent.op + " of '" + intent.name +
                 "': " + st.ToString() + " (left for the next start)");
        continue;
      }
      ctx_.intents.Remove(intent.uuid);
    }
  }

  Status RecoverIntent(const Intent& intent) {
    std::optional<RegisteredDomain> d;
    if (auto running = ctx_.registry.Running(intent.uuid); running.ok()) d = *running;
    const std::string what = "the " + intent.op + " of '" + intent.name + "'";
    const bool handed_over = intent.phase == kPhaseHandedOver;
    if (intent.op == kOpCreate || intent.op == kOpRestore) {
      if (d) return Said(what + " had finished", Status::Ok());
      return Said("recovery: undid " + what, UndoCreate(intent));
    }
    if (intent.op == kOpReceive) {
      if (!d || !handed_over) return Said("recovery: undid " + what, UndoCreate(intent));
      auto info = ctx_.hv.GetDomainInfo(*d->domid);
      if (info.ok() && info->paused) TXEND_RETURN_IF_ERROR(ctx_.hv.Unpause(*d->domid));
      return Said("recovery: finished " + what + ": it runs here", Status::Ok());
    }
    if (intent.op == kOpDestroy)
      return Said("recovery: finished " + what, FinishDestroy(intent, d));
    const bool destroying = intent.phase == kPhaseDestroying;
    if (intent.op == kOpSave) {
      if (!d || destroying) return Said("recovery: finished " + what, FinishDestroy(intent, d));
      lifecycle_.ResumeIfSuspended(*d->domid);
      if (!intent.path.empty()) unlink(intent.path.c_str());
      return Said("recovery: undid " + what + ": it runs on, " + intent.path + " removed",
                  Status::Ok());
    }
    if (intent.op == kOpMigrate) {
      if (!d || destroying) return Said("recovery: finished " + what, FinishDestroy(intent, d));
      if (handed_over)
        return Said("recovery: " + what +
                        " was cut off after the handover: the domain may run "
                        "at the destination, so it is kept suspended here "
                        "(destroy it once it runs there)",
                    Status::Ok());
      lifecycle_.ResumeIfSuspended(*d->domid);
      return Said("recovery: undid " + what + ": it runs on here", Status::Ok());
    }
    if (intent.op == kOpAttach) {
      if (!d || HasDevice(*d, intent.device_type, intent.devid)) return Status::Ok();
      return Said("recovery: undid " + what, RemoveDevice(*d, intent));
    }
    if (intent.op == kOpDetach) {
      if (!d) return Status::Ok();
      TXEND_RETURN_IF_ERROR(RemoveDevice(*d, intent));
      if (HasDevice(*d, intent.device_type, intent.devid) && intent.config) {
        TXEND_ASSIGN_OR_RETURN(ValidConfig config, FromSxp(*intent.config, ctx_.options.random));
        TXEND_RETURN_IF_ERROR(ctx_.Reconfigure(*std::move(config)));
      }
      return Said("recovery: finished " + what, Status::Ok());
    }
    if (intent.op == kOpReset) return Said("recovery: finished " + what, FinishReset(intent, d));
    return Status::Error(EINVAL, "unknown operation '" + intent.op + "'");
  }

  Status Said(const std::string& line, Status st) const {
    if (st.ok()) ctx_.Say(line);
    return st;
  }

  // An operation of recovery's own on the intent's domain (nothing else runs).
  Result<Operation> Begin(const Intent& intent) {
    TXEND_ASSIGN_OR_RETURN(DomainLock lock, ctx_.locks.Lock({intent.uuid}, "recovery", intent.name,
                                                            std::chrono::milliseconds(0)));
    return ctx_.Begin(std::move(lock), intent);
  }

  Status DestroyRegistered(const Intent& intent, const RegisteredDomain& d) {
    TXEND_ASSIGN_OR_RETURN(Operation op, Begin(intent));
    return lifecycle_.DestroyLocked(op, d);
  }

  // Destroys every domain the hypervisor has with the intent's uuid, and its
  // nodes: removed first, as Lifecycle::DestroyLocked does.
  Status DestroyUnregistered(const Intent& intent) {
    TXEND_ASSIGN_OR_RETURN(auto domains, ctx_.hv.ListDomains());
    std::set<uint32_t> domids, running;
    if (intent.domid) domids.insert(*intent.domid);
    for (const auto& info : domains)
      if (info.domid != kDom0 && info.uuid.ToString() == intent.uuid) running.insert(info.domid);
    domids.insert(running.begin(), running.end());
    std::vector<std::string> paths = {VmPath(intent.uuid)};
    for (uint32_t domid : domids) {
      auto more = DomainPaths(intent.uuid, domid);
      paths.insert(paths.end(), more.begin(), more.end());
    }
    for (uint32_t domid : running) (void)ctx_.hv.Pause(domid);
    TXEND_RETURN_IF_ERROR(ctx_.RemoveInTransaction(paths));
    for (uint32_t domid : running) {
      Status st = ctx_.hv.Destroy(domid);
      if (!st.ok() && st.code() != ESRCH) return st;
    }
    for (uint32_t domid : domids) (void)ctx_.xs.Release(domid);
    return Status::Ok();
  }

  Status UndoCreate(const Intent& intent) {
    if (auto d = ctx_.registry.Running(intent.uuid); d.ok()) return DestroyRegistered(intent, *d);
    return DestroyUnregistered(intent);
  }

  Status FinishDestroy(const Intent& intent, const std::optional<RegisteredDomain>& d) {
    return d ? DestroyRegistered(intent, *d) : DestroyUnregistered(intent);
  }

  // Destroyed (if it was not yet) and created again from the intent's config.
  Status FinishReset(const Intent& intent, std::optional<RegisteredDomain> d) {
    if (d && intent.phase != kPhaseCreating) {
      TXEND_RETURN_IF_ERROR(DestroyRegistered(intent, *d));
      d.reset();
    }
    if (d) return Status::Ok();  // created again before the kill
    TXEND_RETURN_IF_ERROR(DestroyUnregistered(intent));
    if (!intent.config) return Status::Error(EINVAL, "the intent has no config");
    TXEND_ASSIGN_OR_RETURN(ValidConfig config, FromSxp(*intent.config, ctx_.options.random));
    TXEND_ASSIGN_OR_RETURN(auto registered, RegisteredConfig::Make(std::move(config)));
    TXEND_ASSIGN_OR_RETURN(Operation op, Begin(intent));
    TXEND_RETURN_IF_ERROR(op.intent.Advance(kPhaseCreating));
    return lifecycle_.CreateLocked(op, std::move(registered), false).status();
  }

  Status RemoveDevice(const RegisteredDomain& d, const Intent& intent) {
    DeviceRef device{intent.device_type, intent.devid, 0};
    std::vector<std::string> paths = {device.FrontendPath(*d.domid), device.BackendPath(*d.domid)};
    return ctx_.RemoveInTransaction(paths);
  }

  // Step 3: dom0's name, and the nodes of running domains xenstore forgot.
  Status WriteForgotten() {
    std::vector<xs::Transaction::NodeWrite> writes = {
        {DomainHome(kDom0) + "/name", kDom0Name, std::nullopt},
        {DomainHome(kDom0) + "/domid", "0", std::nullopt}};
    for (uint32_t domid : forgotten_) {
      auto d = ctx_.registry.Running(std::to_string(domid));
      if (!d.ok() || d->domid != domid) continue;  // undone meanwhile
      TXEND_ASSIGN_OR_RETURN(auto nodes,
                             DomainNodes(d->config(), {domid, 0, 0, 0, 0, d->start_time}));
      writes.insert(writes.end(), nodes.begin(), nodes.end());
    }
    TXEND_RETURN_IF_ERROR(ctx_.WriteInTransaction(writes));
    for (const auto& d : ctx_.registry.All()) {
      if (!d.domid) continue;
      auto introduced = ctx_.xs.IsDomainIntroduced(*d.domid);
      if (introduced.ok() && !*introduced) TXEND_RETURN_IF_ERROR(ctx_.xs.Introduce(*d.domid, 0, 0));
    }
    return Status::Ok();
  }

  // Step 4: xenstore agrees with the hypervisor; the registry with both.
  Status SweepOrphans() {
    TXEND_ASSIGN_OR_RETURN(auto domains, ctx_.hv.ListDomains());
    std::set<std::string> domids, uuids;
    for (const auto& info : domains) {
      domids.insert(std::to_string(info.domid));
      uuids.insert(info.uuid.ToString());
    }
    const std::string home_root = "/local/domain", vm_root = "/vm";
    std::vector<std::string> orphans;
    std::vector<uint32_t> released;
    {
      TXEND_ASSIGN_OR_RETURN(auto snap, xs::Snapshot::Begin(ctx_.xs));
      std::vector<std::string> roots = {home_root, vm_root, kBackendRoot};
      auto listed = snap.DirectoryMany(roots);
      auto children = [&](size_t i) {
        return listed[i].ok() ? *listed[i] : std::vector<std::string>{};
      };
      for (const auto& id : children(0)) {
        auto domid = ParseInteger<uint32_t>(id);
        if (!domid.ok() || domids.count(id)) continue;
        orphans.push_back(home_root + "/" + id);
        released.push_back(*domid);
      }
      for (const auto& uuid : children(1))
        if (!uuids.count(uuid)) orphans.push_back(vm_root + "/" + uuid);
      std::vector<std::string> type_dirs;
      for (const auto& type : children(2)) type_dirs.push_back(kBackendRoot + ("/" + type));
      auto backends = snap.DirectoryMany(type_dirs);
      for (size_t t = 0; t < type_dirs.size(); ++t) {
        if (!backends[t].ok()) continue;
        for (const auto& id : *backends[t])
          if (ParseInteger<uint32_t>(id).ok() && !domids.count(id))
            orphans.push_back(type_dirs[t] + "/" + id);
      }
    }
    if (!orphans.empty()) {
      TXEND_RETURN_IF_ERROR(ctx_.RemoveInTransaction(orphans));
      for (uint32_t domid : released) (void)ctx_.xs.Release(domid);
      ctx_.Say("recovery: removed the xenstore nodes of domains that exist nowhere: " +
               Joined(orphans));
    }
    auto forgotten = ctx_.registry.ForgetUnmatchedRunningConfigs();
    if (!forgotten.empty())
      ctx_.Say("recovery: forgot the running configs of domains that stopped meanwhile: " +
               Joined(forgotten));
    return Status::Ok();
  }

  DomainContext& ctx_;
  Lifecycle& lifecycle_;
  std::vector<uint32_t> forgotten_;  // domids whose nodes xenstore lost
};

}  // namespace

Status RecoverDomains(DomainContext& ctx, Lifecycle& lifecycle) {
  return Recovery(ctx, lifecycle).Run();
}

}  // namespace txend::toolstack
