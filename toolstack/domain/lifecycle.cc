// Lifecycle: creating and destroying domains (create, destroy, reset). The
// settings of running domains are in lifecycle_settings.cc, save and restore
// in lifecycle_save.cc.
#include "toolstack/domain/lifecycle.h"

#include <chrono>
#include <thread>

#include "toolstack/domain/device_waits.h"
#include "toolstack/domain/hvm_guest.h"

namespace txend::toolstack {
namespace {

// Frees what a half-built domain holds if creation fails part-way; when that
// cleanup fails too (xenstore gone), the intent stays for start-up recovery.
class CreateRollback {
 public:
  CreateRollback(Hypervisor& hv, xs::Connection& xs, DeviceModels& dms, IntentRecord& intent)
      : hv_(hv), xs_(xs), dms_(dms), intent_(intent) {}
  ~CreateRollback() {
    if (!armed_) return;
    bool clean = true;
    if (device_model_) dms_.Stop(domid_);
    if (nodes_written_)
      clean &= xs::RunTransaction(xs_, [&](xs::Transaction& tx) {
                 return tx.RmMany(DomainPaths(uuid_, domid_), true);
               }).ok();
    if (introduced_) (void)xs_.Release(domid_);
    Status destroyed = hv_.Destroy(domid_);
    clean &= destroyed.ok() || destroyed.code() == ESRCH;
    if (!clean) intent_.Keep();
  }
  void Domain(uint32_t domid, std::string uuid) {
    armed_ = true;
    domid_ = domid;
    uuid_ = std::move(uuid);
  }
  void NodesWritten() { nodes_written_ = true; }
  void Introduced() { introduced_ = true; }
  void DeviceModelStarted() { device_model_ = true; }
  void Disarm() { armed_ = false; }

 private:
  Hypervisor& hv_;
  xs::Connection& xs_;
  DeviceModels& dms_;
  IntentRecord& intent_;
  bool armed_ = false, nodes_written_ = false, introduced_ = false, device_model_ = false;
  uint32_t domid_ = 0;
  std::string uuid_;
};

// EEXIST when the name or the uuid is taken by another running domain.
Status CheckCreatable(const DomainRegistry& registry, const DomainConfig& config) {
  TXEND_RETURN_IF_ERROR(registry.CheckNameFree(config.name, config.uuid));
  auto same_uuid = registry.Lookup(config.uuid);
  if (same_uuid.ok() && same_uuid->domid)
    return Status::Error(EEXIST, "Domain with uuid " + config.uuid + " is already running as '" +
                                     same_uuid->config().name + "'");
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

// The kernel a PV or PVH guest boots: what its bootloader chose (xend's
// _temp_kernel, _temp_ramdisk, _temp_args), else the config's.
BootImage KernelToBoot(const DomainConfig& config, const std::optional<BootedKernel>& booted) {
  if (booted) return booted->image();
  return BootImage{config.image.kernel, config.image.ramdisk, config.image.args};
}

// Builds the guest of `config` into created domain `domid`, booting `kernel`.
Result<GuestRings> BuildGuest(const DomainContext& ctx, uint32_t domid, const DomainConfig& config,
                              const BootImage& kernel, uint32_t store_port, uint32_t console_port) {
  if (config.image.builder != Builder::kLinux)
    return BuildHvmGuest(ctx, domid, config, kernel, store_port, console_port);
  PvBuildRequest build;
  build.kernel = kernel.kernel;
  build.ramdisk = kernel.ramdisk;
  build.cmdline = kernel.args;
  build.memory_kib = static_cast<uint64_t>(config.memory_mb) * 1024;
  build.store_port = store_port;
  build.console_port = console_port;
  return ctx.hv.BuildPv(domid, build);
}

}  // namespace

Intent Lifecycle::IntentFor(const char* op, const RegisteredDomain& d) {
  Intent intent;
  intent.op = op;
  intent.uuid = d.config().uuid;
  intent.name = d.config().name;
  intent.domid = d.domid;
  return intent;
}

Result<RegisteredDomain> Lifecycle::CreateLocked(Operation& op,
                                                 std::shared_ptr<const RegisteredConfig> config,
                                                 bool paused) {
  return BuildLocked(op, std::move(config), paused, -1);
}

Result<RegisteredDomain> Lifecycle::CreateFromRestoreFdLocked(
    Operation& op, std::shared_ptr<const RegisteredConfig> config, bool paused, int fd) {
  return BuildLocked(op, std::move(config), paused, fd);
}

Result<RegisteredDomain> Lifecycle::BuildLocked(Operation& op,
                                                std::shared_ptr<const RegisteredConfig> registered,
                                                bool paused, int restore_fd) {
  const DomainConfig& config = *registered->config;
  const std::vector<DeviceRef>& devices = registered->devices;
  TXEND_RETURN_IF_ERROR(CheckCreatable(ctx_.registry, config));
  std::optional<BootedKernel> booted;  // its directory goes once the domain is built
  if (restore_fd < 0 && config.boots_with_bootloader()) {
    TXEND_ASSIGN_OR_RETURN(booted, RunBootloader(config, ctx_.options.bootloader));
  }
  TXEND_ASSIGN_OR_RETURN(Uuid uuid, Uuid::Parse(config.uuid));

  CreateRequest request;
  request.uuid = uuid;
  request.type = GuestTypeOf(config);
  request.max_vcpus = static_cast<uint32_t>(config.vcpus);
  TXEND_ASSIGN_OR_RETURN(uint32_t domid, ctx_.hv.CreateDomain(request));
  CreateRollback rollback(ctx_.hv, ctx_.xs, ctx_.device_models, op.intent);
  rollback.Domain(domid, config.uuid);
  op.Step("domain");

  TXEND_RETURN_IF_ERROR(ctx_.hv.SetMaxMemory(domid, MaxMemoryKib(config)));
  TXEND_ASSIGN_OR_RETURN(uint32_t store_port, ctx_.hv.AllocUnboundPort(domid, kDom0));
  TXEND_ASSIGN_OR_RETURN(uint32_t console_port, ctx_.hv.AllocUnboundPort(domid, kDom0));
  GuestRings rings;
  UniqueFd device_state;  // an HVM guest's saved device model state, after its memory
  if (restore_fd >= 0) {
    TXEND_ASSIGN_OR_RETURN(
        rings, ctx_.hv.Restore(domid, restore_fd, RestoreRequest{store_port, console_port}));
    if (config.is_hvm()) {
      TXEND_ASSIGN_OR_RETURN(device_state, ctx_.device_models.ReadState(domid, restore_fd));
    }
  } else {
    auto built =
        BuildGuest(ctx_, domid, config, KernelToBoot(config, booted), store_port, console_port);
    if (!built.ok() && booted)
      return Status::Error(built.status().code(), "the kernel bootloader " + booted->program() +
                                                      " extracted: " + built.status().message());
    TXEND_ASSIGN_OR_RETURN(rings, std::move(built));
  }
  TXEND_RETURN_IF_ERROR(ApplyCpuSettings(ctx_.hv, domid, config));
  op.Step("built");

  double start_time = ctx_.options.wall_clock();
  DomainPlacement placement{domid,        rings.store_mfn, store_port, rings.console_mfn,
                            console_port, start_time};
  TXEND_ASSIGN_OR_RETURN(auto nodes, DomainNodes(config, placement));
  TXEND_RETURN_IF_ERROR(WaitForBackends(ctx_, domid, devices, [&]() -> Status {
    TXEND_RETURN_IF_ERROR(ctx_.WriteInTransaction(nodes));  // transaction 1
    rollback.NodesWritten();
    op.Step("nodes");
    if (Status st = ctx_.xs.Introduce(domid, rings.store_mfn, store_port); !st.ok())
      return Status::Error(st.code(), "xenstore did not take domain " + std::to_string(domid) +
                                          ": INTRODUCE answered " + ErrnoName(st.code()) +
                                          " (xsd's log says why)");
    rollback.Introduced();
    op.Step("introduced");
    return Status::Ok();
  }));  // transaction 2 reads every device's result
  if (config.is_hvm()) {
    rollback.DeviceModelStarted();
    TXEND_RETURN_IF_ERROR(ctx_.device_models.Start(domid, config, device_state.get()));
  }
  op.Step("devices");
  if (!paused) TXEND_RETURN_IF_ERROR(ctx_.hv.Unpause(domid));
  op.Step("unpaused");
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d,
                         ctx_.registry.AddRunning(std::move(registered), domid, start_time));
  rollback.Disarm();
  op.Step("registered");
  return d;
}

Result<DomainRecord> Lifecycle::Create(ValidConfig config, bool paused) {
  TXEND_ASSIGN_OR_RETURN(auto registered, RegisteredConfig::Make(std::move(config)));
  const DomainConfig& c = *registered->config;
  TXEND_ASSIGN_OR_RETURN(DomainLock lock, ctx_.LockNewDomain(c, kOpCreate));
  TXEND_ASSIGN_OR_RETURN(Operation op,
                         ctx_.Begin(std::move(lock), Intent::Begin(kOpCreate, c.uuid, c.name)));
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, CreateLocked(op, std::move(registered), paused));
  TXEND_ASSIGN_OR_RETURN(DomainInfo info, ctx_.hv.GetDomainInfo(*d.domid));
  DomainRecord record = DomainRecord::Of(d, std::move(info));
  record.memory_target_kib = static_cast<uint64_t>(d.config().memory_mb) * 1024;  // as written
  return record;
}

Status Lifecycle::DestroyLocked(Operation& op, const RegisteredDomain& d) {
  uint32_t domid = *d.domid;
  if (d.config().is_hvm()) ctx_.device_models.Stop(domid);
  // As libxl: paused, its nodes removed while it still exists (C xenstored
  // refuses, with ENOMEM, a commit charged to a domain it has released), then
  // destroyed. The hypervisor's destroy happens even if xenstore failed.
  if (Status st = op.intent.Advance(kPhaseDestroying); !st.ok()) {
    op.intent.Keep();
    return st;
  }
  (void)ctx_.hv.Pause(domid);
  Status removed = ctx_.RemoveInTransaction(DomainPaths(d.config().uuid, domid));
  if (removed.ok()) op.Step("removed");
  Status st = ctx_.hv.Destroy(domid);
  if (!st.ok() && st.code() != ESRCH) {
    op.intent.Keep();
    return st;
  }
  op.Step("destroyed");
  if (!removed.ok()) {
    op.intent.Keep();
    return removed;
  }
  (void)ctx_.xs.Release(domid);
  ctx_.registry.RemoveRunning(domid);
  return Status::Ok();
}

Status Lifecycle::Destroy(std::string_view ref) {
  TXEND_ASSIGN_OR_RETURN(LockedDomain locked, ctx_.LockDomain(ref, kOpDestroy, true));
  TXEND_ASSIGN_OR_RETURN(Operation op,
                         ctx_.Begin(std::move(locked.lock), IntentFor(kOpDestroy, locked.domain)));
  return DestroyLocked(op, locked.domain);
}

Result<RegisteredDomain> Lifecycle::RecreateLocked(Operation& op, const RegisteredDomain& d,
                                                   std::shared_ptr<const RegisteredConfig> config) {
  TXEND_RETURN_IF_ERROR(DestroyLocked(op, d));
  TXEND_RETURN_IF_ERROR(op.intent.Advance(kPhaseCreating));
  return CreateLocked(op, std::move(config), false);
}

Result<uint32_t> Lifecycle::Reset(std::string_view ref) {
  TXEND_ASSIGN_OR_RETURN(LockedDomain locked, ctx_.LockDomain(ref, kOpReset, true));
  const RegisteredDomain& d = locked.domain;
  Intent intent = IntentFor(kOpReset, d);
  intent.config = ToSxp(d.config());
  TXEND_ASSIGN_OR_RETURN(Operation op, ctx_.Begin(std::move(locked.lock), std::move(intent)));
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain again, RecreateLocked(op, d, d.registered));
  return *again.domid;
}

Status Lifecycle::Suspend(uint32_t domid, const std::string& name) {
  TXEND_ASSIGN_OR_RETURN(bool asks_guest, ctx_.hv.HasPvDrivers(domid));
  if (asks_guest) {  // one transaction: the guest suspends itself
    std::string control = DomainHome(domid) + "/control/shutdown";
    TXEND_RETURN_IF_ERROR(xs::RunTransaction(
        ctx_.xs, [&](xs::Transaction& tx) { return tx.Write(control, "suspend"); }));
  } else {
    TXEND_RETURN_IF_ERROR(ctx_.hv.Shutdown(domid, ShutdownReason::kSuspend));
  }
  // Polls the hypervisor, not xenstore.
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

}  // namespace txend::toolstack
