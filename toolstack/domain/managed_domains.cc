#include "toolstack/domain/managed_domains.h"

#include <thread>

namespace txend::toolstack {

Status ManagedDomains::New(ValidConfig config) {
  TXEND_ASSIGN_OR_RETURN(auto registered, RegisteredConfig::Make(std::move(config)));
  TXEND_ASSIGN_OR_RETURN(DomainLock lock, ctx_.LockNewDomain(*registered->config, "new"));
  return ctx_.registry.Define(std::move(registered));
}

Result<uint32_t> ManagedDomains::Start(std::string_view ref, bool paused) {
  TXEND_ASSIGN_OR_RETURN(LockedDomain locked, ctx_.LockDomain(ref, kOpCreate, false));
  const RegisteredDomain& d = locked.domain;
  if (!d.managed)
    return Status::Error(EINVAL, "Domain '" + d.config().name + "' is not a managed domain.");
  if (d.domid) return Status::Error(EEXIST, "Domain '" + d.config().name + "' is already running.");
  TXEND_ASSIGN_OR_RETURN(Operation op,
                         ctx_.Begin(std::move(locked.lock), Lifecycle::IntentFor(kOpCreate, d)));
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain started,
                         lifecycle_.CreateLocked(op, d.registered, paused));
  return *started.domid;
}

Status ManagedDomains::Delete(std::string_view ref) {
  TXEND_ASSIGN_OR_RETURN(LockedDomain locked, ctx_.LockDomain(ref, "delete", false));
  return ctx_.registry.Undefine(locked.domain.config().uuid);
}

std::vector<ManagedDomains::Autostarted> ManagedDomains::Autostart() {
  std::vector<Autostarted> tried;
  for (const RegisteredDomain& d : ctx_.registry.All()) {
    if (!d.managed || d.domid || d.config().on_xend_start != "start") continue;
    tried.push_back({d.config().name, Start(d.config().uuid, false)});
  }
  return tried;
}

std::vector<ManagedDomains::Autostopped> ManagedDomains::Autostop(std::chrono::milliseconds wait) {
  std::vector<Autostopped> done;
  std::vector<std::pair<size_t, RegisteredDomain>> stopping;  // by their entry in `done`
  for (const RegisteredDomain& d : ctx_.registry.All()) {
    const std::string& action = d.config().on_xend_stop;
    if (!d.domid || action == "ignore") continue;
    if (action == "suspend") {
      done.push_back({d.config().name, action,
                      Status::Error(ENOTSUP,
                                    "suspend needs managed save images, which txend "
                                    "does not keep; it keeps running")});
      continue;
    }
    done.push_back({d.config().name, action, lifecycle_.Shutdown(d.config().uuid, "poweroff")});
    if (done.back().status.ok()) stopping.emplace_back(done.size() - 1, d);
  }
  // Gone, or running again under another domid (its on_poweroff said restart).
  auto still_running = [&](const RegisteredDomain& d) {
    auto now = ctx_.registry.Running(d.config().uuid);
    return now.ok() && now->domid == d.domid;
  };
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (true) {
    std::erase_if(stopping, [&](const auto& s) { return !still_running(s.second); });
    if (stopping.empty() || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  for (const auto& [entry, d] : stopping)
    done[entry].status =
        Status::Error(ETIMEDOUT, "still running after " + std::to_string(wait.count()) + " ms");
  return done;
}

}  // namespace txend::toolstack
