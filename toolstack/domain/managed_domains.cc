#include "toolstack/domain/managed_domains.h"

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

}  // namespace txend::toolstack
