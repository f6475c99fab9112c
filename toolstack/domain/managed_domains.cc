#include "toolstack/domain/managed_domains.h"

namespace txend::toolstack {

Status ManagedDomains::New(ValidConfig config) {
  TXEND_ASSIGN_OR_RETURN(auto registered, RegisteredConfig::Make(std::move(config)));
  MutexLock lock(&lifecycle_.mu());
  return ctx_.registry.Define(std::move(registered));
}

Result<uint32_t> ManagedDomains::Start(std::string_view ref, bool paused) {
  MutexLock lock(&lifecycle_.mu());
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, ctx_.registry.Lookup(ref));
  if (!d.managed)
    return Status::Error(EINVAL, "Domain '" + d.config().name + "' is not a managed domain.");
  if (d.domid) return Status::Error(EEXIST, "Domain '" + d.config().name + "' is already running.");
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain started, lifecycle_.CreateLocked(d.registered, paused));
  return *started.domid;
}

Status ManagedDomains::Delete(std::string_view ref) {
  MutexLock lock(&lifecycle_.mu());
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, ctx_.registry.Lookup(ref));
  return ctx_.registry.Undefine(d.config().uuid);
}

}  // namespace txend::toolstack
