#include "toolstack/domain/lifecycle.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "base/numbers.h"
#include "base/unique_fd.h"
#include "toolstack/domain/device_waits.h"

namespace txend::toolstack {
namespace {

constexpr char kSaveMagic[] = "TXENDSV1\n";

// Frees what a half-built domain holds if creation fails part-way.
class CreateRollback {
 public:
  CreateRollback(Hypervisor& hv, xs::Connection& xs) : hv_(hv), xs_(xs) {}
  ~CreateRollback() {
    if (!armed_) return;
    if (nodes_written_)
      (void)xs::RunTransaction(
          xs_, [&](xs::Transaction& tx) { return tx.RmMany(DomainPaths(uuid_, domid_), true); });
    if (introduced_) (void)xs_.Release(domid_);
    (void)hv_.Destroy(domid_);
  }
  void Domain(uint32_t domid, std::string uuid) {
    armed_ = true;
    domid_ = domid;
    uuid_ = std::move(uuid);
  }
  void NodesWritten() { nodes_written_ = true; }
  void Introduced() { introduced_ = true; }
  void Disarm() { armed_ = false; }

 private:
  Hypervisor& hv_;
  xs::Connection& xs_;
  bool armed_ = false, nodes_written_ = false, introduced_ = false;
  uint32_t domid_ = 0;
  std::string uuid_;
};

// EEXIST when the name or the uuid is taken by another running domain.
Status CheckCreatable(const DomainRegistry& registry, const DomainConfig& config, bool restoring) {
  TXEND_RETURN_IF_ERROR(registry.CheckNameFree(config.name, config.uuid));
  auto same_uuid = registry.Lookup(config.uuid);
  if (same_uuid.ok() && same_uuid->domid)
    return Status::Error(EEXIST, "Domain with uuid " + config.uuid + " is already running as '" +
                                     same_uuid->config().name + "'");
  if (config.is_hvm() && !restoring)
    return Status::Error(
        ENOTSUP, "HVM domains cannot be built by this txend yet (domain '" + config.name + "')");
  return Status::Ok();
}

// The config's credit scheduler settings (unless the defaults) and vcpu affinities.
Status ApplyCpuSettings(Hypervisor& hv, uint32_t domid, const DomainConfig& config) {
  if (config.cpu_weight != 256 || config.cpu_cap != 0)
    TXEND_RETURN_IF_ERROR(hv.SetSchedCredit(
        domid, {static_cast<uint32_t>(config.cpu_weight), static_cast<uint32_t>(config.cpu_cap)}));
  for (size_t v = 0; v < config.cpus.size() && v < static_cast<size_t>(config.vcpus); ++v) {
    if (config.cpus[v].empty()) continue;
    CpuSet cpus;
    for (int cpu : config.cpus[v]) cpus.Add(static_cast<uint32_t>(cpu));
    TXEND_RETURN_IF_ERROR(hv.SetVcpuAffinity(domid, static_cast<uint32_t>(v), cpus));
  }
  return Status::Ok();
}

}  // namespace

Result<RegisteredDomain> Lifecycle::CreateLocked(std::shared_ptr<const RegisteredConfig> config,
                                                 bool paused) {
  return BuildLocked(std::move(config), paused, -1);
}

Result<RegisteredDomain> Lifecycle::CreateFromRestoreFdLocked(
    std::shared_ptr<const RegisteredConfig> config, bool paused, int fd) {
  return BuildLocked(std::move(config), paused, fd);
}

Result<RegisteredDomain> Lifecycle::BuildLocked(std::shared_ptr<const RegisteredConfig> registered,
                                                bool paused, int restore_fd) {
  const DomainConfig& config = *registered->config;
  const std::vector<DeviceRef>& devices = registered->devices;
  TXEND_RETURN_IF_ERROR(CheckCreatable(ctx_.registry, config, restore_fd >= 0));
  TXEND_ASSIGN_OR_RETURN(Uuid uuid, Uuid::Parse(config.uuid));

  CreateRequest request;
  request.uuid = uuid;
  request.hvm = config.is_hvm();
  request.max_vcpus = static_cast<uint32_t>(config.vcpus);
  TXEND_ASSIGN_OR_RETURN(uint32_t domid, ctx_.hv.CreateDomain(request));
  CreateRollback rollback(ctx_.hv, ctx_.xs);
  rollback.Domain(domid, config.uuid);

  TXEND_RETURN_IF_ERROR(
      ctx_.hv.SetMaxMemory(domid, static_cast<uint64_t>(config.maxmem_mb) * 1024));
  TXEND_ASSIGN_OR_RETURN(uint32_t store_port, ctx_.hv.AllocUnboundPort(domid, kDom0));
  TXEND_ASSIGN_OR_RETURN(uint32_t console_port, ctx_.hv.AllocUnboundPort(domid, kDom0));
  GuestRings rings;
  if (restore_fd >= 0) {
    TXEND_ASSIGN_OR_RETURN(
        rings, ctx_.hv.Restore(domid, restore_fd, RestoreRequest{store_port, console_port}));
  } else {
    PvBuildRequest build;
    build.kernel = config.image.kernel;
    build.ramdisk = config.image.ramdisk;
    build.cmdline = config.image.args;
    build.memory_kib = static_cast<uint64_t>(config.memory_mb) * 1024;
    build.store_port = store_port;
    build.console_port = console_port;
    TXEND_ASSIGN_OR_RETURN(rings, ctx_.hv.BuildPv(domid, build));
  }
  TXEND_RETURN_IF_ERROR(ApplyCpuSettings(ctx_.hv, domid, config));

  double start_time = ctx_.options.wall_clock();
  DomainPlacement placement{domid,        rings.store_mfn, store_port, rings.console_mfn,
                            console_port, start_time};
  TXEND_ASSIGN_OR_RETURN(auto nodes, DomainNodes(config, placement));
  TXEND_RETURN_IF_ERROR(WaitForBackends(ctx_, domid, devices, [&]() -> Status {
    TXEND_RETURN_IF_ERROR(ctx_.WriteInTransaction(nodes));  // transaction 1
    rollback.NodesWritten();
    TXEND_RETURN_IF_ERROR(ctx_.xs.Introduce(domid, rings.store_mfn, store_port));
    rollback.Introduced();
    return Status::Ok();
  }));  // transaction 2 reads every device's result
  if (!paused) TXEND_RETURN_IF_ERROR(ctx_.hv.Unpause(domid));
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d,
                         ctx_.registry.AddRunning(std::move(registered), domid, start_time));
  rollback.Disarm();
  return d;
}

Result<DomainRecord> Lifecycle::Create(ValidConfig config, bool paused) {
  TXEND_ASSIGN_OR_RETURN(auto registered, RegisteredConfig::Make(std::move(config)));
  MutexLock lock(&ctx_.lifecycle_mu);
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, CreateLocked(std::move(registered), paused));
  TXEND_ASSIGN_OR_RETURN(DomainInfo info, ctx_.hv.GetDomainInfo(*d.domid));
  DomainRecord record = DomainRecord::Of(d, std::move(info));
  record.memory_target_kib = static_cast<uint64_t>(d.config().memory_mb) * 1024;  // as written
  return record;
}

Status Lifecycle::DestroyLocked(const RegisteredDomain& d) {
  uint32_t domid = *d.domid;
  Status st = ctx_.hv.Destroy(domid);
  if (!st.ok() && st.code() != ESRCH) return st;
  TXEND_RETURN_IF_ERROR(xs::RunTransaction(ctx_.xs, [&](xs::Transaction& tx) {
    return tx.RmMany(DomainPaths(d.config().uuid, domid), true);
  }));
  (void)ctx_.xs.Release(domid);
  ctx_.registry.RemoveRunning(domid);
  return Status::Ok();
}

Status Lifecycle::Destroy(std::string_view ref) {
  MutexLock lock(&ctx_.lifecycle_mu);
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, ctx_.registry.Running(ref));
  return DestroyLocked(d);
}

Status Lifecycle::Shutdown(std::string_view ref, std::string_view reason) {
  MutexLock lock(&ctx_.lifecycle_mu);
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, ctx_.registry.Running(ref));
  if (reason != "poweroff" && reason != "reboot" && reason != "halt" && reason != "suspend")
    return Status::Error(EINVAL, "invalid shutdown reason '" + std::string(reason) +
                                     "' (expected poweroff, reboot, halt or suspend)");
  std::string path = DomainHome(*d.domid) + "/control/shutdown";
  return xs::RunTransaction(ctx_.xs, [&](xs::Transaction& tx) { return tx.Write(path, reason); });
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
  MutexLock lock(&ctx_.lifecycle_mu);
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, ctx_.registry.Lookup(ref));
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
  MutexLock lock(&ctx_.lifecycle_mu);
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, ctx_.registry.Running(ref));
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
}

Status Lifecycle::SetMaxMemory(std::string_view ref, uint64_t mib) {
  MutexLock lock(&ctx_.lifecycle_mu);
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, ctx_.registry.Running(ref));
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
}

Status Lifecycle::SetVcpus(std::string_view ref, uint32_t count) {
  MutexLock lock(&ctx_.lifecycle_mu);
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, ctx_.registry.Running(ref));
  if (count == 0 || count > static_cast<uint32_t>(d.config().vcpus))
    return Status::Error(EINVAL, "cannot set " + std::to_string(count) + " vcpus: the domain has " +
                                     std::to_string(d.config().vcpus) + " at most");
  std::vector<xs::Transaction::NodeWrite> w;
  for (uint32_t i = 0; i < static_cast<uint32_t>(d.config().vcpus); ++i)
    w.push_back({DomainHome(*d.domid) + "/cpu/" + std::to_string(i) + "/availability",
                 i < count ? "online" : "offline", std::nullopt});
  uint64_t avail = count >= 64 ? ~0ull : (1ull << count) - 1;
  w.push_back({VmPath(d.config().uuid) + "/vcpu_avail", std::to_string(avail), std::nullopt});
  TXEND_RETURN_IF_ERROR(ctx_.WriteInTransaction(w));
  DomainConfig c = d.config();
  c.vcpu_avail =
      count == static_cast<uint32_t>(c.vcpus) ? std::nullopt : std::optional<uint64_t>(avail);
  return ctx_.Reconfigure(std::move(c));
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
  MutexLock lock(&ctx_.lifecycle_mu);
  TXEND_ASSIGN_OR_RETURN(ResolvedRef resolved, ctx_.registry.ResolveRunning(ref));
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

// Waits until the hypervisor reports `domid` suspended (the guest acted on
// control/shutdown=suspend); polls the hypervisor, not xenstore.
Status Lifecycle::WaitSuspended(uint32_t domid, const std::string& name) {
  auto deadline = std::chrono::steady_clock::now() + ctx_.options.shutdown_timeout;
  while (true) {
    TXEND_ASSIGN_OR_RETURN(DomainInfo info, ctx_.hv.GetDomainInfo(domid));
    if (info.shutdown && info.shutdown_reason == ShutdownReason::kSuspend) return Status::Ok();
    if (std::chrono::steady_clock::now() > deadline)
      return Status::Error(ETIMEDOUT, "Domain '" + name + "' did not suspend");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void Lifecycle::ResumeIfSuspended(uint32_t domid) {
  auto info = ctx_.hv.GetDomainInfo(domid);
  if (!info.ok() || !info->shutdown || info->shutdown_reason != ShutdownReason::kSuspend) return;
  if (ctx_.hv.Resume(domid).ok()) (void)ctx_.xs.Resume(domid);
}

Status Lifecycle::Save(std::string_view ref, const std::string& path) {
  MutexLock lock(&ctx_.lifecycle_mu);
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, ctx_.registry.Running(ref));
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd) return Status::Error(errno, "cannot create " + path + ": " + strerror(errno));
  auto fail = [&](Status st) {
    fd.reset();
    unlink(path.c_str());
    return st;
  };
  std::string header = std::string(kSaveMagic) + sxp::ToString(ToSxp(d.config())) + "\n";
  if (write(fd.get(), header.data(), header.size()) != static_cast<ssize_t>(header.size()))
    return fail(Status::Error(EIO, "cannot write " + path));
  uint32_t domid = *d.domid;
  SaveRequest request;
  request.suspend = [&]() -> Status {  // one transaction: ask the guest to suspend itself
    std::string control = DomainHome(domid) + "/control/shutdown";
    TXEND_RETURN_IF_ERROR(xs::RunTransaction(
        ctx_.xs, [&](xs::Transaction& tx) { return tx.Write(control, "suspend"); }));
    return WaitSuspended(domid, d.config().name);
  };
  Status saved = ctx_.hv.Save(domid, fd.get(), request);
  if (saved.ok() && fsync(fd.get()) != 0) saved = Status::Error(errno, "cannot sync " + path);
  if (!saved.ok()) {
    (void)ctx_.hv.Resume(domid);  // let it run on if it had suspended
    return fail(saved);
  }
  fd.reset();
  return DestroyLocked(d);
}

Result<uint32_t> Lifecycle::Restore(const std::string& path, bool paused) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return Status::Error(errno, "cannot open " + path + ": " + strerror(errno));
  // The header: magic line, then the config on one line; the image follows.
  std::string magic, line;
  char c;
  while (magic.size() < sizeof kSaveMagic - 1 && read(fd.get(), &c, 1) == 1) magic.push_back(c);
  while (read(fd.get(), &c, 1) == 1 && c != '\n') line.push_back(c);
  if (magic != kSaveMagic) return Status::Error(EINVAL, path + " is not a txend save file");
  TXEND_ASSIGN_OR_RETURN(sxp::Value v, sxp::Parse(line));
  TXEND_ASSIGN_OR_RETURN(ValidConfig config, FromSxp(v, ctx_.options.random));
  TXEND_ASSIGN_OR_RETURN(auto registered, RegisteredConfig::Make(std::move(config)));
  MutexLock lock(&ctx_.lifecycle_mu);
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d,
                         CreateFromRestoreFdLocked(std::move(registered), paused, fd.get()));
  return *d.domid;
}

Status Lifecycle::DumpCore(std::string_view ref, const std::string& path) {
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, ctx_.registry.Running(ref));
  return ctx_.hv.DumpCore(*d.domid, path);
}

Status Lifecycle::Sysrq(std::string_view ref, std::string_view key) {
  if (key.size() != 1)
    return Status::Error(EINVAL, "sysrq key must be one character, not '" + std::string(key) + "'");
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, ctx_.registry.Running(ref));
  std::string path = DomainHome(*d.domid) + "/control/sysrq";
  return xs::RunTransaction(ctx_.xs, [&](xs::Transaction& tx) { return tx.Write(path, key); });
}

Result<uint32_t> Lifecycle::Reset(std::string_view ref) {
  MutexLock lock(&ctx_.lifecycle_mu);
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, ctx_.registry.Running(ref));
  TXEND_RETURN_IF_ERROR(DestroyLocked(d));
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain again, CreateLocked(d.registered, false));
  return *again.domid;
}

}  // namespace txend::toolstack
