// Lifecycle: the settings of running domains — shutdown requests, pausing,
// names, memory, vcpus, affinity, credit, sysrq. A change holds its domain's
// lock only; one-call operations take none.
#include "base/numbers.h"
#include "toolstack/domain/lifecycle.h"

namespace txend::toolstack {

Status Lifecycle::ChangeRunning(std::string_view ref, const std::string& op,
                                const std::function<Status(const RegisteredDomain&)>& change) {
  TXEND_ASSIGN_OR_RETURN(LockedDomain locked, ctx_.LockDomain(ref, op, true));
  return change(locked.domain);
}

Status Lifecycle::Shutdown(std::string_view ref, std::string_view reason) {
  return ChangeRunning(ref, "shutdown", [&](const RegisteredDomain& d) -> Status {
    if (reason != "poweroff" && reason != "reboot" && reason != "halt" && reason != "suspend")
      return Status::Error(EINVAL, "invalid shutdown reason '" + std::string(reason) +
                                       "' (expected poweroff, reboot, halt or suspend)");
    std::string path = DomainHome(*d.domid) + "/control/shutdown";
    return xs::RunTransaction(ctx_.xs, [&](xs::Transaction& tx) { return tx.Write(path, reason); });
  });
}

Status Lifecycle::Pause(std::string_view ref) {
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, ctx_.registry.Running(ref));
  return ctx_.hv.Pause(*d.domid);
}

Status Lifecycle::Unpause(std::string_view ref) {
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, ctx_.registry.Running(ref));
  return ctx_.hv.Unpause(*d.domid);
}

Status Lifecycle::Rename(std::string_view ref, const std::string& new_name) {
  TXEND_ASSIGN_OR_RETURN(LockedDomain locked, ctx_.LockDomain(ref, "rename", false, new_name));
  const RegisteredDomain& d = locked.domain;
  DomainConfig c = d.config();
  c.name = new_name;
  TXEND_ASSIGN_OR_RETURN(ValidConfig valid, ctx_.CheckConfig(std::move(c)));
  TXEND_ASSIGN_OR_RETURN(auto renamed, RegisteredConfig::Make(std::move(valid)));
  const std::string& uuid = renamed->config->uuid;
  TXEND_RETURN_IF_ERROR(ctx_.registry.CheckNameFree(new_name, uuid));
  if (d.domid) {
    std::vector<xs::Transaction::NodeWrite> w = {
        {DomainHome(*d.domid) + "/name", new_name, std::nullopt},
        {VmPath(uuid) + "/name", new_name, std::nullopt}};
    TXEND_RETURN_IF_ERROR(ctx_.WriteInTransaction(w));
  }
  return ctx_.registry.Update(std::move(renamed));
}

Status Lifecycle::SetMemoryTarget(std::string_view ref, uint64_t mib) {
  return ChangeRunning(ref, "mem-set", [&](const RegisteredDomain& d) -> Status {
    if (mib == 0) return Status::Error(EINVAL, "memory target must be at least 1 MiB");
    if (static_cast<int64_t>(mib) > d.config().maxmem_mb)
      return Status::Error(
          EINVAL, "memory target " + std::to_string(mib) + " MiB exceeds the domain's maximum of " +
                      std::to_string(d.config().maxmem_mb) + " MiB (raise it with mem-max)");
    std::vector<xs::Transaction::NodeWrite> w = {
        {DomainHome(*d.domid) + "/memory/target", std::to_string(mib * 1024), std::nullopt},
        {VmPath(d.config().uuid) + "/memory", std::to_string(mib), std::nullopt}};
    TXEND_RETURN_IF_ERROR(ctx_.WriteInTransaction(w));
    DomainConfig c = d.config();
    c.memory_mb = static_cast<int64_t>(mib);
    return ctx_.Reconfigure(std::move(c));
  });
}

Status Lifecycle::SetMaxMemory(std::string_view ref, uint64_t mib) {
  return ChangeRunning(ref, "mem-max", [&](const RegisteredDomain& d) -> Status {
    if (static_cast<int64_t>(mib) < d.config().memory_mb)
      return Status::Error(EINVAL, "maximum memory " + std::to_string(mib) +
                                       " MiB is below the current target of " +
                                       std::to_string(d.config().memory_mb) + " MiB");
    TXEND_RETURN_IF_ERROR(ctx_.hv.SetMaxMemory(*d.domid, mib * 1024));
    std::vector<xs::Transaction::NodeWrite> w = {
        {DomainHome(*d.domid) + "/memory/static-max", std::to_string(mib * 1024), std::nullopt},
        {VmPath(d.config().uuid) + "/maxmem", std::to_string(mib), std::nullopt}};
    TXEND_RETURN_IF_ERROR(ctx_.WriteInTransaction(w));
    DomainConfig c = d.config();
    c.maxmem_mb = static_cast<int64_t>(mib);
    return ctx_.Reconfigure(std::move(c));
  });
}

Status Lifecycle::SetVcpus(std::string_view ref, uint32_t count) {
  return ChangeRunning(ref, "vcpu-set", [&](const RegisteredDomain& d) -> Status {
    const uint32_t max = static_cast<uint32_t>(d.config().vcpus);
    if (count == 0 || count > max)
      return Status::Error(EINVAL, "cannot set " + std::to_string(count) +
                                       " vcpus: the domain has " + std::to_string(max) +
                                       " at most");
    std::vector<xs::Transaction::NodeWrite> w;
    for (uint32_t i = 0; i < max; ++i)
      w.push_back({DomainHome(*d.domid) + "/cpu/" + std::to_string(i) + "/availability",
                   i < count ? "online" : "offline", std::nullopt});
    uint64_t avail = count >= 64 ? ~0ull : (1ull << count) - 1;
    w.push_back({VmPath(d.config().uuid) + "/vcpu_avail", std::to_string(avail), std::nullopt});
    TXEND_RETURN_IF_ERROR(ctx_.WriteInTransaction(w));
    DomainConfig c = d.config();
    c.vcpu_avail = count == max ? std::nullopt : std::optional<uint64_t>(avail);
    return ctx_.Reconfigure(std::move(c));
  });
}

Status Lifecycle::PinVcpu(std::string_view ref, std::string_view vcpu, std::string_view cpus) {
  TXEND_ASSIGN_OR_RETURN(ResolvedRef resolved, ctx_.registry.ResolveRunning(ref));
  uint32_t domid = *resolved.domid(), max_vcpus = 0;
  if (resolved.is_dom0()) {
    TXEND_ASSIGN_OR_RETURN(DomainInfo info, ctx_.hv.GetDomainInfo(kDom0));
    max_vcpus = info.MaxVcpus();
  } else {
    max_vcpus = static_cast<uint32_t>(resolved.domain->config().vcpus);
  }
  TXEND_ASSIGN_OR_RETURN(PhysInfo phys, ctx_.hv.Physinfo());
  TXEND_ASSIGN_OR_RETURN(CpuSet cpu_list, CpuSet::Parse(cpus, phys.nr_cpus));
  if (vcpu == "all") {
    for (uint32_t v = 0; v < max_vcpus; ++v)
      TXEND_RETURN_IF_ERROR(ctx_.hv.SetVcpuAffinity(domid, v, cpu_list));
    return Status::Ok();
  }
  auto v = ParseInteger<uint32_t>(vcpu);
  if (!v.ok()) return Status::Error(EINVAL, "invalid vcpu '" + std::string(vcpu) + "'");
  return ctx_.hv.SetVcpuAffinity(domid, *v, cpu_list);
}

Result<SchedCredit> Lifecycle::GetSchedCredit(std::string_view ref) {
  TXEND_ASSIGN_OR_RETURN(ResolvedRef resolved, ctx_.registry.ResolveRunning(ref));
  return ctx_.hv.GetSchedCredit(*resolved.domid());
}

Status Lifecycle::SetSchedCredit(std::string_view ref, std::optional<uint32_t> weight,
                                 std::optional<uint32_t> cap) {
  TXEND_ASSIGN_OR_RETURN(ResolvedRef resolved, ctx_.registry.ResolveRunning(ref));
  const std::string uuid = resolved.is_dom0() ? kDom0Uuid : resolved.domain->config().uuid;
  TXEND_ASSIGN_OR_RETURN(
      DomainLock lock, ctx_.locks.Lock({uuid}, "sched-credit", "Domain '" + std::string(ref) + "'",
                                       ctx_.options.busy_timeout));
  TXEND_ASSIGN_OR_RETURN(resolved, ctx_.registry.ResolveRunning(uuid));
  uint32_t domid = *resolved.domid();
  TXEND_ASSIGN_OR_RETURN(SchedCredit credit, ctx_.hv.GetSchedCredit(domid));
  if (weight) credit.weight = *weight;
  if (cap) credit.cap = *cap;
  TXEND_RETURN_IF_ERROR(ctx_.hv.SetSchedCredit(domid, credit));
  if (resolved.is_dom0()) return Status::Ok();
  DomainConfig c = resolved.domain->config();
  c.cpu_weight = static_cast<int>(credit.weight);
  c.cpu_cap = static_cast<int>(credit.cap);
  return ctx_.Reconfigure(std::move(c));
}

Status Lifecycle::Sysrq(std::string_view ref, std::string_view key) {
  if (key.size() != 1)
    return Status::Error(EINVAL, "sysrq key must be one character, not '" + std::string(key) + "'");
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, ctx_.registry.Running(ref));
  std::string path = DomainHome(*d.domid) + "/control/sysrq";
  return xs::RunTransaction(ctx_.xs, [&](xs::Transaction& tx) { return tx.Write(path, key); });
}

}  // namespace txend::toolstack
