// Toolstack: creating, stopping and changing domains.
#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <cstring>
#include <sys/stat.h>
#include <thread>

#include "toolstack/toolstack.h"

namespace txend::toolstack {
namespace {

constexpr char kSaveMagic[] = "TXENDSV1\n";
// A domain that crashes again this soon after starting is not restarted.
constexpr double kMinRestartSeconds = 10;

bool NeedsHotplug(const DeviceRef& d) { return d.type == "vbd" || d.type == "vif"; }

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

Result<uint32_t> ParseU32(std::string_view text, const std::string& what) {
  uint32_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty())
    return Status::Error(EINVAL, "invalid " + what + " '" + std::string(text) + "'");
  return v;
}

}  // namespace

// Watches each backend's hotplug-status, runs `trigger` (which creates the
// devices), waits until every watch has fired past its initial event, then
// reads every result in one snapshot.
Status Toolstack::WaitForBackends(uint32_t domid, const std::vector<DeviceRef>& devices,
                                  const std::function<Status()>& trigger) {
  struct Seen {
    std::mutex mu;
    std::condition_variable cv;
    std::map<std::string, int> events;
  };
  auto seen = std::make_shared<Seen>();
  std::vector<std::string> paths;
  std::vector<xs::Watch> watches;
  for (const auto& d : devices) {
    if (!NeedsHotplug(d)) continue;
    std::string path = d.BackendPath(domid) + "/hotplug-status";
    paths.push_back(path);
    TXEND_ASSIGN_OR_RETURN(xs::Watch w,
                           xs_.AddWatch(path, [seen, path](const std::string&, const std::string&) {
                             std::lock_guard lock(seen->mu);
                             ++seen->events[path];
                             seen->cv.notify_all();
                           }));
    watches.push_back(std::move(w));
  }
  TXEND_RETURN_IF_ERROR(trigger());
  if (paths.empty()) return Status::Ok();
  {
    std::unique_lock lock(seen->mu);
    auto all_fired = [&] {
      for (const auto& p : paths)
        if (seen->events[p] < 2) return false;
      return true;
    };
    if (!seen->cv.wait_for(lock, options_.device_timeout, all_fired)) {
      for (size_t i = 0, k = 0; i < devices.size(); ++i) {
        if (!NeedsHotplug(devices[i])) continue;
        if (seen->events[paths[k++]] < 2)
          return Status::Error(
              ETIMEDOUT, "Device " + devices[i].type + " " + std::to_string(devices[i].devid) +
                             " could not be connected: its backend did not report within " +
                             std::to_string(options_.device_timeout.count() / 1000) +
                             " s (hotplug scripts not working?)");
      }
    }
  }
  TXEND_ASSIGN_OR_RETURN(auto snap, xs::Snapshot::Begin(xs_));
  auto results = snap.ReadMany(paths);
  for (size_t i = 0; i < results.size(); ++i) {
    if (results[i].ok() && *results[i] == "connected") continue;
    std::string why = results[i].ok() ? *results[i] : results[i].status().ToString();
    return Status::Error(EIO, paths[i].substr(0, paths[i].rfind('/')) +
                                  " could not be connected: hotplug-status " + why);
  }
  return Status::Ok();
}

Result<uint32_t> Toolstack::CreateLocked(std::shared_ptr<const RegisteredConfig> registered,
                                         bool paused, int restore_fd) {
  const DomainConfig& config = *registered->config;
  const std::vector<DeviceRef>& devices = registered->devices;
  TXEND_RETURN_IF_ERROR(registry_->CheckNameFree(config.name, config.uuid));
  auto same_uuid = registry_->Lookup(config.uuid);
  if (same_uuid.ok() && same_uuid->domid)
    return Status::Error(EEXIST, "Domain with uuid " + config.uuid + " is already running as '" +
                                     same_uuid->config().name + "'");
  if (config.is_hvm() && restore_fd < 0)
    return Status::Error(
        ENOTSUP, "HVM domains cannot be built by this txend yet (domain '" + config.name + "')");
  TXEND_ASSIGN_OR_RETURN(Uuid uuid, Uuid::Parse(config.uuid));

  CreateRequest request;
  request.uuid = uuid;
  request.hvm = config.is_hvm();
  request.max_vcpus = static_cast<uint32_t>(config.vcpus);
  TXEND_ASSIGN_OR_RETURN(uint32_t domid, hv_.CreateDomain(request));
  CreateRollback rollback(hv_, xs_);
  rollback.Domain(domid, config.uuid);

  TXEND_RETURN_IF_ERROR(hv_.SetMaxMemory(domid, static_cast<uint64_t>(config.maxmem_mb) * 1024));
  TXEND_ASSIGN_OR_RETURN(uint32_t store_port, hv_.AllocUnboundPort(domid, kDom0));
  TXEND_ASSIGN_OR_RETURN(uint32_t console_port, hv_.AllocUnboundPort(domid, kDom0));
  GuestRings rings;
  if (restore_fd >= 0) {
    TXEND_ASSIGN_OR_RETURN(
        rings, hv_.Restore(domid, restore_fd, RestoreRequest{store_port, console_port}));
  } else {
    PvBuildRequest build;
    build.kernel = config.image.kernel;
    build.ramdisk = config.image.ramdisk;
    build.cmdline = config.image.args;
    build.memory_kib = static_cast<uint64_t>(config.memory_mb) * 1024;
    build.store_port = store_port;
    build.console_port = console_port;
    TXEND_ASSIGN_OR_RETURN(rings, hv_.BuildPv(domid, build));
  }
  if (config.cpu_weight != 256 || config.cpu_cap != 0)
    TXEND_RETURN_IF_ERROR(hv_.SetSchedCredit(
        domid, {static_cast<uint32_t>(config.cpu_weight), static_cast<uint32_t>(config.cpu_cap)}));
  for (size_t v = 0; v < config.cpus.size() && v < static_cast<size_t>(config.vcpus); ++v) {
    if (config.cpus[v].empty()) continue;
    CpuSet cpus;
    for (int cpu : config.cpus[v]) cpus.Add(static_cast<uint32_t>(cpu));
    TXEND_RETURN_IF_ERROR(hv_.SetVcpuAffinity(domid, static_cast<uint32_t>(v), cpus));
  }

  double start_time = options_.wall_clock();
  DomainPlacement placement{domid,        rings.store_mfn, store_port, rings.console_mfn,
                            console_port, start_time};
  TXEND_ASSIGN_OR_RETURN(auto nodes, DomainNodes(config, placement));
  TXEND_RETURN_IF_ERROR(WaitForBackends(domid, devices, [&]() -> Status {
    TXEND_RETURN_IF_ERROR(WriteInTransaction(nodes));  // transaction 1
    rollback.NodesWritten();
    TXEND_RETURN_IF_ERROR(xs_.Introduce(domid, rings.store_mfn, store_port));
    rollback.Introduced();
    return Status::Ok();
  }));  // transaction 2 reads every device's result
  if (!paused) TXEND_RETURN_IF_ERROR(hv_.Unpause(domid));
  TXEND_RETURN_IF_ERROR(registry_->AddRunning(std::move(registered), domid, start_time));
  rollback.Disarm();
  return domid;
}

Result<uint32_t> Toolstack::Create(ValidConfig config, bool paused) {
  TXEND_ASSIGN_OR_RETURN(auto registered, RegisteredConfig::Make(std::move(config)));
  std::lock_guard lock(ops_mu_);
  return CreateLocked(std::move(registered), paused, -1);
}

Status Toolstack::DestroyLocked(const RegisteredDomain& d) {
  uint32_t domid = *d.domid;
  Status st = hv_.Destroy(domid);
  if (!st.ok() && st.code() != ESRCH) return st;
  TXEND_RETURN_IF_ERROR(xs::RunTransaction(xs_, [&](xs::Transaction& tx) {
    return tx.RmMany(DomainPaths(d.config().uuid, domid), true);
  }));
  (void)xs_.Release(domid);
  registry_->RemoveRunning(domid);
  return Status::Ok();
}

Status Toolstack::Destroy(std::string_view ref) {
  std::lock_guard lock(ops_mu_);
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, registry_->Running(ref));
  return DestroyLocked(d);
}

Status Toolstack::Shutdown(std::string_view ref, std::string_view reason) {
  std::lock_guard lock(ops_mu_);
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, registry_->Running(ref));
  if (reason != "poweroff" && reason != "reboot" && reason != "halt" && reason != "suspend")
    return Status::Error(EINVAL, "invalid shutdown reason '" + std::string(reason) +
                                     "' (expected poweroff, reboot, halt or suspend)");
  std::string path = DomainHome(*d.domid) + "/control/shutdown";
  return xs::RunTransaction(xs_, [&](xs::Transaction& tx) { return tx.Write(path, reason); });
}

Status Toolstack::Pause(std::string_view ref) {
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, registry_->Running(ref));
  return hv_.Pause(*d.domid);
}

Status Toolstack::Unpause(std::string_view ref) {
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, registry_->Running(ref));
  return hv_.Unpause(*d.domid);
}

Status Toolstack::Rename(std::string_view ref, const std::string& new_name) {
  std::lock_guard lock(ops_mu_);
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, registry_->Lookup(ref));
  DomainConfig c = d.config();
  c.name = new_name;
  TXEND_ASSIGN_OR_RETURN(ValidConfig valid, CheckConfig(std::move(c)));
  TXEND_ASSIGN_OR_RETURN(auto renamed, RegisteredConfig::Make(std::move(valid)));
  const std::string& uuid = renamed->config->uuid;
  TXEND_RETURN_IF_ERROR(registry_->CheckNameFree(new_name, uuid));
  if (d.domid) {
    std::vector<xs::Transaction::NodeWrite> w = {
        {DomainHome(*d.domid) + "/name", new_name, std::nullopt},
        {VmPath(uuid) + "/name", new_name, std::nullopt}};
    TXEND_RETURN_IF_ERROR(WriteInTransaction(w));
  }
  return registry_->Update(std::move(renamed));
}

Status Toolstack::SetMemoryTarget(std::string_view ref, uint64_t mib) {
  std::lock_guard lock(ops_mu_);
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, registry_->Running(ref));
  if (mib == 0) return Status::Error(EINVAL, "memory target must be at least 1 MiB");
  if (static_cast<int64_t>(mib) > d.config().maxmem_mb)
    return Status::Error(
        EINVAL, "memory target " + std::to_string(mib) + " MiB exceeds the domain's maximum of " +
                    std::to_string(d.config().maxmem_mb) + " MiB (raise it with mem-max)");
  std::vector<xs::Transaction::NodeWrite> w = {
      {DomainHome(*d.domid) + "/memory/target", std::to_string(mib * 1024), std::nullopt},
      {VmPath(d.config().uuid) + "/memory", std::to_string(mib), std::nullopt}};
  TXEND_RETURN_IF_ERROR(WriteInTransaction(w));
  DomainConfig c = d.config();
  c.memory_mb = static_cast<int64_t>(mib);
  return Reconfigure(std::move(c));
}

Status Toolstack::SetMaxMemory(std::string_view ref, uint64_t mib) {
  std::lock_guard lock(ops_mu_);
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, registry_->Running(ref));
  if (static_cast<int64_t>(mib) < d.config().memory_mb)
    return Status::Error(EINVAL, "maximum memory " + std::to_string(mib) +
                                     " MiB is below the current target of " +
                                     std::to_string(d.config().memory_mb) + " MiB");
  TXEND_RETURN_IF_ERROR(hv_.SetMaxMemory(*d.domid, mib * 1024));
  std::vector<xs::Transaction::NodeWrite> w = {
      {DomainHome(*d.domid) + "/memory/static-max", std::to_string(mib * 1024), std::nullopt},
      {VmPath(d.config().uuid) + "/maxmem", std::to_string(mib), std::nullopt}};
  TXEND_RETURN_IF_ERROR(WriteInTransaction(w));
  DomainConfig c = d.config();
  c.maxmem_mb = static_cast<int64_t>(mib);
  return Reconfigure(std::move(c));
}

Status Toolstack::SetVcpus(std::string_view ref, uint32_t count) {
  std::lock_guard lock(ops_mu_);
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, registry_->Running(ref));
  if (count == 0 || count > static_cast<uint32_t>(d.config().vcpus))
    return Status::Error(EINVAL, "cannot set " + std::to_string(count) + " vcpus: the domain has " +
                                     std::to_string(d.config().vcpus) + " at most");
  std::vector<xs::Transaction::NodeWrite> w;
  for (uint32_t i = 0; i < static_cast<uint32_t>(d.config().vcpus); ++i)
    w.push_back({DomainHome(*d.domid) + "/cpu/" + std::to_string(i) + "/availability",
                 i < count ? "online" : "offline", std::nullopt});
  uint64_t avail = count >= 64 ? ~0ull : (1ull << count) - 1;
  w.push_back({VmPath(d.config().uuid) + "/vcpu_avail", std::to_string(avail), std::nullopt});
  TXEND_RETURN_IF_ERROR(WriteInTransaction(w));
  DomainConfig c = d.config();
  c.vcpu_avail =
      count == static_cast<uint32_t>(c.vcpus) ? std::nullopt : std::optional<uint64_t>(avail);
  return Reconfigure(std::move(c));
}

Status Toolstack::PinVcpu(std::string_view ref, std::string_view vcpu, std::string_view cpus) {
  TXEND_ASSIGN_OR_RETURN(ResolvedRef resolved, registry_->ResolveRunning(ref));
  uint32_t domid = *resolved.domid(), max_vcpus = 0;
  if (resolved.is_dom0()) {
    TXEND_ASSIGN_OR_RETURN(DomainInfo info, hv_.GetDomainInfo(kDom0));
    max_vcpus = info.MaxVcpus();
  } else {
    max_vcpus = static_cast<uint32_t>(resolved.domain->config().vcpus);
  }
  TXEND_ASSIGN_OR_RETURN(PhysInfo phys, hv_.Physinfo());
  TXEND_ASSIGN_OR_RETURN(CpuSet cpu_list, CpuSet::Parse(cpus, phys.nr_cpus));
  if (vcpu == "all") {
    for (uint32_t v = 0; v < max_vcpus; ++v)
      TXEND_RETURN_IF_ERROR(hv_.SetVcpuAffinity(domid, v, cpu_list));
    return Status::Ok();
  }
  TXEND_ASSIGN_OR_RETURN(uint32_t v, ParseU32(vcpu, "vcpu"));
  return hv_.SetVcpuAffinity(domid, v, cpu_list);
}

Result<SchedCredit> Toolstack::GetSchedCredit(std::string_view ref) {
  TXEND_ASSIGN_OR_RETURN(ResolvedRef resolved, registry_->ResolveRunning(ref));
  return hv_.GetSchedCredit(*resolved.domid());
}

Status Toolstack::SetSchedCredit(std::string_view ref, std::optional<uint32_t> weight,
                                 std::optional<uint32_t> cap) {
  std::lock_guard lock(ops_mu_);
  TXEND_ASSIGN_OR_RETURN(ResolvedRef resolved, registry_->ResolveRunning(ref));
  uint32_t domid = *resolved.domid();
  TXEND_ASSIGN_OR_RETURN(SchedCredit credit, hv_.GetSchedCredit(domid));
  if (weight) credit.weight = *weight;
  if (cap) credit.cap = *cap;
  TXEND_RETURN_IF_ERROR(hv_.SetSchedCredit(domid, credit));
  if (resolved.is_dom0()) return Status::Ok();
  DomainConfig c = resolved.domain->config();
  c.cpu_weight = static_cast<int>(credit.weight);
  c.cpu_cap = static_cast<int>(credit.cap);
  return Reconfigure(std::move(c));
}

Status Toolstack::Reconfigure(DomainConfig config) {
  TXEND_ASSIGN_OR_RETURN(ValidConfig valid, CheckConfig(std::move(config)));
  TXEND_ASSIGN_OR_RETURN(auto registered, RegisteredConfig::Make(std::move(valid)));
  return registry_->Update(std::move(registered));
}

// Waits until the hypervisor reports `domid` suspended (the guest acted on
// control/shutdown=suspend); polls the hypervisor, not xenstore.
Status Toolstack::WaitSuspended(uint32_t domid, const std::string& name) {
  auto deadline = std::chrono::steady_clock::now() + options_.shutdown_timeout;
  while (true) {
    TXEND_ASSIGN_OR_RETURN(DomainInfo info, hv_.GetDomainInfo(domid));
    if (info.shutdown && info.shutdown_reason == ShutdownReason::kSuspend) return Status::Ok();
    if (std::chrono::steady_clock::now() > deadline)
      return Status::Error(ETIMEDOUT, "Domain '" + name + "' did not suspend");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

Status Toolstack::Save(std::string_view ref, const std::string& path) {
  std::lock_guard lock(ops_mu_);
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, registry_->Running(ref));
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::Error(errno, "cannot create " + path + ": " + strerror(errno));
  auto fail = [&](Status st) {
    close(fd);
    unlink(path.c_str());
    return st;
  };
  std::string header = std::string(kSaveMagic) + sxp::ToString(ToSxp(d.config())) + "\n";
  if (write(fd, header.data(), header.size()) != static_cast<ssize_t>(header.size()))
    return fail(Status::Error(EIO, "cannot write " + path));
  uint32_t domid = *d.domid;
  SaveRequest request;
  request.suspend = [&]() -> Status {  // one transaction: ask the guest to suspend itself
    std::string control = DomainHome(domid) + "/control/shutdown";
    TXEND_RETURN_IF_ERROR(
        xs::RunTransaction(xs_, [&](xs::Transaction& tx) { return tx.Write(control, "suspend"); }));
    return WaitSuspended(domid, d.config().name);
  };
  Status saved = hv_.Save(domid, fd, request);
  if (saved.ok() && fsync(fd) != 0) saved = Status::Error(errno, "cannot sync " + path);
  if (!saved.ok()) {
    (void)hv_.Resume(domid);  // let it run on if it had suspended
    return fail(saved);
  }
  close(fd);
  return DestroyLocked(d);
}

Result<uint32_t> Toolstack::Restore(const std::string& path, bool paused) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::Error(errno, "cannot open " + path + ": " + strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  // The header: magic line, then the config on one line; the image follows.
  std::string magic, line;
  char c;
  while (magic.size() < sizeof kSaveMagic - 1 && read(fd, &c, 1) == 1) magic.push_back(c);
  while (read(fd, &c, 1) == 1 && c != '\n') line.push_back(c);
  if (magic != kSaveMagic) return Status::Error(EINVAL, path + " is not a txend save file");
  TXEND_ASSIGN_OR_RETURN(sxp::Value v, sxp::Parse(line));
  TXEND_ASSIGN_OR_RETURN(ValidConfig config, FromSxp(v, options_.random));
  TXEND_ASSIGN_OR_RETURN(auto registered, RegisteredConfig::Make(std::move(config)));
  std::lock_guard lock(ops_mu_);
  return CreateLocked(std::move(registered), paused, fd);
}

Status Toolstack::DumpCore(std::string_view ref, const std::string& path) {
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, registry_->Running(ref));
  return hv_.DumpCore(*d.domid, path);
}

Status Toolstack::Sysrq(std::string_view ref, std::string_view key) {
  if (key.size() != 1)
    return Status::Error(EINVAL, "sysrq key must be one character, not '" + std::string(key) + "'");
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, registry_->Running(ref));
  std::string path = DomainHome(*d.domid) + "/control/sysrq";
  return xs::RunTransaction(xs_, [&](xs::Transaction& tx) { return tx.Write(path, key); });
}

Result<uint32_t> Toolstack::Reset(std::string_view ref) {
  std::lock_guard lock(ops_mu_);
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, registry_->Running(ref));
  TXEND_RETURN_IF_ERROR(DestroyLocked(d));
  return CreateLocked(d.registered, false, -1);
}

Status Toolstack::New(ValidConfig config) {
  TXEND_ASSIGN_OR_RETURN(auto registered, RegisteredConfig::Make(std::move(config)));
  std::lock_guard lock(ops_mu_);
  return registry_->Define(std::move(registered));
}

Result<uint32_t> Toolstack::Start(std::string_view ref, bool paused) {
  std::lock_guard lock(ops_mu_);
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, registry_->Lookup(ref));
  if (!d.managed)
    return Status::Error(EINVAL, "Domain '" + d.config().name + "' is not a managed domain.");
  if (d.domid) return Status::Error(EEXIST, "Domain '" + d.config().name + "' is already running.");
  return CreateLocked(d.registered, paused, -1);
}

Status Toolstack::Delete(std::string_view ref) {
  std::lock_guard lock(ops_mu_);
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, registry_->Lookup(ref));
  return registry_->Undefine(d.config().uuid);
}

// on_poweroff / on_reboot / on_crash, as xend carried them out.
void Toolstack::OnDomainExit(const RegisteredDomain& d, const DomainInfo& info) {
  bool crashed = info.crashed || info.shutdown_reason == ShutdownReason::kWatchdog;
  ShutdownAction action = info.shutdown_reason == ShutdownReason::kReboot ? d.config().on_reboot
                          : crashed                                       ? d.config().on_crash
                                                                          : d.config().on_poweroff;
  if (action == ShutdownAction::kPreserve) return;
  if (action == ShutdownAction::kCoredumpDestroy || action == ShutdownAction::kCoredumpRestart) {
    std::string dir = options_.state_dir + "/dump";
    mkdir(dir.c_str(), 0700);
    (void)hv_.DumpCore(info.domid,
                       dir + "/" + d.config().name + "." + std::to_string(info.domid) + ".core");
  }
  bool restart_action = action == ShutdownAction::kRestart ||
                        action == ShutdownAction::kCoredumpRestart ||
                        action == ShutdownAction::kRenameRestart;
  // A domain that crashes again right after starting is not restarted in a loop.
  bool restart =
      restart_action && !(crashed && options_.wall_clock() - d.start_time < kMinRestartSeconds);
  if (action == ShutdownAction::kRenameRestart && restart) {
    // Keep the dead domain under another name and uuid; start a fresh one.
    DomainConfig old = d.config();
    old.name = d.config().name + "-" + std::to_string(info.domid);
    old.uuid = NewUuid(options_.random);
    auto valid = CheckConfig(std::move(old));
    if (!valid.ok()) return;
    auto kept = RegisteredConfig::Make(std::move(valid).value());
    if (!kept.ok()) return;
    (void)xs::RunTransaction(xs_, [&](xs::Transaction& tx) {
      return tx.Write(DomainHome(info.domid) + "/name", (*kept)->config->name);
    });
    registry_->RemoveRunning(info.domid);
    (void)registry_->AddRunning(*kept, info.domid, d.start_time);
    (void)CreateLocked(d.registered, false, -1);
    return;
  }
  (void)DestroyLocked(d);
  if (restart) (void)CreateLocked(d.registered, false, -1);
}

}  // namespace txend::toolstack
