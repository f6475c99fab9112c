// Toolstack: creating, stopping and changing domains.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <cstring>
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
      (void)xs::RunTransaction(xs_, [&](xs::Transaction& tx) { return tx.RmMany(DomainPaths(uuid_, domid_), true); });
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
    TXEND_ASSIGN_OR_RETURN(xs::Watch w, xs_.AddWatch(path, [seen, path](const std::string&, const std::string&) {
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
          return Status::Error(ETIMEDOUT, "Device " + devices[i].type + " " + std::to_string(devices[i].devid) +
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
    return Status::Error(EIO, paths[i].substr(0, paths[i].rfind('/')) + " could not be connected: hotplug-status " + why);
  }
  return Status::Ok();
}

Result<uint32_t> Toolstack::CreateLocked(DomainConfig config, bool paused, const std::string& restore_image) {
  config.FillDefaults(options_.random);
  TXEND_RETURN_IF_ERROR(config.Validate());
  TXEND_RETURN_IF_ERROR(registry_->CheckNameFree(config.name, config.uuid));
  auto same_uuid = registry_->Lookup(config.uuid);
  if (same_uuid.ok() && same_uuid->domid)
    return Status::Error(EEXIST, "Domain with uuid " + config.uuid + " is already running as '" + same_uuid->config.name + "'");
  TXEND_ASSIGN_OR_RETURN(auto devices, DevicesOf(config));
  std::vector<int> affinity;
  if (!config.cpus.empty()) {
    TXEND_ASSIGN_OR_RETURN(PhysInfo phys, hv_.GetPhysInfo());
    TXEND_ASSIGN_OR_RETURN(affinity, ParseCpuList(config.cpus, static_cast<int>(phys.nr_cpus)));
  }

  DomainCreateSpec spec{config.uuid, config.hvm(), config.vcpus, config.memory_mib * 1024, config.max_mib() * 1024};
  uint32_t domid = 0;
  if (restore_image.empty()) {
    TXEND_ASSIGN_OR_RETURN(domid, hv_.CreateDomain(spec));
  } else {
    int fd = open(restore_image.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Status::Error(errno, "cannot open " + restore_image + ": " + strerror(errno));
    std::string header;
    char c;
    while (read(fd, &c, 1) == 1 && c != '\n') header.push_back(c);  // magic line
    while (read(fd, &c, 1) == 1 && c != '\n') {}                      // config line
    auto restored = hv_.Restore(fd, spec);
    close(fd);
    if (!restored.ok()) return restored.status();
    domid = *restored;
  }
  CreateRollback rollback(hv_, xs_);
  rollback.Domain(domid, config.uuid);

  TXEND_ASSIGN_OR_RETURN(uint32_t store_port, hv_.AllocEventChannel(domid, 0));
  TXEND_ASSIGN_OR_RETURN(uint32_t console_port, hv_.AllocEventChannel(domid, 0));
  BuiltImage built{static_cast<uint64_t>(domid) << 20, (static_cast<uint64_t>(domid) << 20) + 1};
  if (restore_image.empty() && !config.hvm() && !config.kernel.empty()) {
    TXEND_ASSIGN_OR_RETURN(built, hv_.BuildPv(domid, {config.kernel, config.ramdisk, config.CommandLine(),
                                                      store_port, console_port}));
  }
  if (config.cpu_weight != 256 || config.cpu_cap != 0)
    TXEND_RETURN_IF_ERROR(hv_.SetSchedCredit(domid, {config.cpu_weight, config.cpu_cap}));
  for (uint32_t v = 0; v < config.vcpus && !affinity.empty(); ++v)
    TXEND_RETURN_IF_ERROR(hv_.SetVcpuAffinity(domid, v, affinity));

  double start_time = options_.wall_clock();
  DomainPlacement placement{domid, built.store_mfn, store_port, built.console_mfn, console_port, start_time};
  TXEND_ASSIGN_OR_RETURN(auto nodes, DomainNodes(config, placement));
  TXEND_RETURN_IF_ERROR(WaitForBackends(domid, devices, [&]() -> Status {
    TXEND_RETURN_IF_ERROR(WriteInTransaction(nodes));  // transaction 1
    rollback.NodesWritten();
    TXEND_RETURN_IF_ERROR(xs_.Introduce(domid, built.store_mfn, store_port));
    rollback.Introduced();
    return Status::Ok();
  }));  // transaction 2 reads every device's result
  if (!paused) TXEND_RETURN_IF_ERROR(hv_.Unpause(domid));
  TXEND_RETURN_IF_ERROR(registry_->AddRunning(config, domid, start_time));
  rollback.Disarm();
  return domid;
}

Result<uint32_t> Toolstack::Create(DomainConfig config, bool paused) {
  std::lock_guard lock(ops_mu_);
  return CreateLocked(std::move(config), paused, "");
}

Status Toolstack::DestroyLocked(const RegisteredDomain& d) {
  uint32_t domid = *d.domid;
  Status st = hv_.Destroy(domid);
  if (!st.ok() && st.code() != ESRCH) return st;
  TXEND_RETURN_IF_ERROR(
      xs::RunTransaction(xs_, [&](xs::Transaction& tx) { return tx.RmMany(DomainPaths(d.config.uuid, domid), true); }));
  (void)xs_.Release(domid);
  registry_->RemoveRunning(domid);
  return Status::Ok();
}

Status Toolstack::Destroy(std::string_view ref) {
  std::lock_guard lock(ops_mu_);
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, Running(ref));
  return DestroyLocked(d);
}

Status Toolstack::Shutdown(std::string_view ref, std::string_view reason) {
  std::lock_guard lock(ops_mu_);
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, Running(ref));
  if (reason != "poweroff" && reason != "reboot" && reason != "halt" && reason != "suspend")
    return Status::Error(EINVAL, "invalid shutdown reason '" + std::string(reason) +
                                     "' (expected poweroff, reboot, halt or suspend)");
  std::string path = DomainHome(*d.domid) + "/control/shutdown";
  return xs::RunTransaction(xs_, [&](xs::Transaction& tx) { return tx.Write(path, reason); });
}

Status Toolstack::Pause(std::string_view ref) {
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, Running(ref));
  return hv_.Pause(*d.domid);
}

Status Toolstack::Unpause(std::string_view ref) {
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, Running(ref));
  return hv_.Unpause(*d.domid);
}

Status Toolstack::Rename(std::string_view ref, const std::string& new_name) {
  std::lock_guard lock(ops_mu_);
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, registry_->Lookup(ref));
  DomainConfig c = d.config;
  c.name = new_name;
  TXEND_RETURN_IF_ERROR(c.Validate());
  TXEND_RETURN_IF_ERROR(registry_->CheckNameFree(new_name, c.uuid));
  if (d.domid) {
    std::vector<xs::Transaction::NodeWrite> w = {{DomainHome(*d.domid) + "/name", new_name, std::nullopt},
                                                 {VmPath(c.uuid) + "/name", new_name, std::nullopt}};
    TXEND_RETURN_IF_ERROR(WriteInTransaction(w));
  }
  return registry_->Update(c.uuid, c);
}

Status Toolstack::SetMemoryTarget(std::string_view ref, uint64_t mib) {
  std::lock_guard lock(ops_mu_);
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, Running(ref));
  if (mib == 0) return Status::Error(EINVAL, "memory target must be at least 1 MiB");
  if (mib > d.config.max_mib())
    return Status::Error(EINVAL, "memory target " + std::to_string(mib) + " MiB exceeds the domain's maximum of " +
                                     std::to_string(d.config.max_mib()) + " MiB (raise it with mem-max)");
  std::vector<xs::Transaction::NodeWrite> w = {{DomainHome(*d.domid) + "/memory/target", std::to_string(mib * 1024), std::nullopt},
                                               {VmPath(d.config.uuid) + "/memory", std::to_string(mib), std::nullopt}};
  TXEND_RETURN_IF_ERROR(WriteInTransaction(w));
  d.config.memory_mib = mib;
  return registry_->Update(d.config.uuid, d.config);
}

Status Toolstack::SetMaxMemory(std::string_view ref, uint64_t mib) {
  std::lock_guard lock(ops_mu_);
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, Running(ref));
  if (mib < d.config.memory_mib)
    return Status::Error(EINVAL, "maximum memory " + std::to_string(mib) + " MiB is below the current target of " +
                                     std::to_string(d.config.memory_mib) + " MiB");
  TXEND_RETURN_IF_ERROR(hv_.SetMaxMemory(*d.domid, mib * 1024));
  std::vector<xs::Transaction::NodeWrite> w = {{DomainHome(*d.domid) + "/memory/static-max", std::to_string(mib * 1024), std::nullopt},
                                               {VmPath(d.config.uuid) + "/maxmem", std::to_string(mib), std::nullopt}};
  TXEND_RETURN_IF_ERROR(WriteInTransaction(w));
  d.config.maxmem_mib = mib;
  return registry_->Update(d.config.uuid, d.config);
}

Status Toolstack::SetVcpus(std::string_view ref, uint32_t count) {
  std::lock_guard lock(ops_mu_);
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, Running(ref));
  if (count == 0 || count > d.config.vcpus)
    return Status::Error(EINVAL, "cannot set " + std::to_string(count) + " vcpus: the domain has " +
                                     std::to_string(d.config.vcpus) + " at most");
  std::vector<xs::Transaction::NodeWrite> w;
  for (uint32_t i = 0; i < d.config.vcpus; ++i)
    w.push_back({DomainHome(*d.domid) + "/cpu/" + std::to_string(i) + "/availability", i < count ? "online" : "offline", std::nullopt});
  uint32_t avail = count >= 32 ? ~0u : (1u << count) - 1;
  w.push_back({VmPath(d.config.uuid) + "/vcpu_avail", std::to_string(avail), std::nullopt});
  TXEND_RETURN_IF_ERROR(WriteInTransaction(w));
  d.config.vcpu_avail = count == d.config.vcpus ? 0 : avail;
  return registry_->Update(d.config.uuid, d.config);
}

Status Toolstack::PinVcpu(std::string_view ref, std::string_view vcpu, std::string_view cpus) {
  uint32_t domid = 0, max_vcpus = 0;
  if (ref == "0" || ref == "Domain-0") {
    TXEND_ASSIGN_OR_RETURN(DomainInfo info, hv_.GetDomain(0));
    max_vcpus = info.max_vcpus;
  } else {
    TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, Running(ref));
    domid = *d.domid;
    max_vcpus = d.config.vcpus;
  }
  TXEND_ASSIGN_OR_RETURN(PhysInfo phys, hv_.GetPhysInfo());
  TXEND_ASSIGN_OR_RETURN(auto cpu_list, ParseCpuList(cpus, static_cast<int>(phys.nr_cpus)));
  if (vcpu == "all") {
    for (uint32_t v = 0; v < max_vcpus; ++v) TXEND_RETURN_IF_ERROR(hv_.SetVcpuAffinity(domid, v, cpu_list));
    return Status::Ok();
  }
  TXEND_ASSIGN_OR_RETURN(uint32_t v, ParseU32(vcpu, "vcpu"));
  return hv_.SetVcpuAffinity(domid, v, cpu_list);
}

Result<SchedCredit> Toolstack::GetSchedCredit(std::string_view ref) {
  if (ref == "0" || ref == "Domain-0") return hv_.GetSchedCredit(0);
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, Running(ref));
  return hv_.GetSchedCredit(*d.domid);
}

Status Toolstack::SetSchedCredit(std::string_view ref, std::optional<uint32_t> weight, std::optional<uint32_t> cap) {
  std::lock_guard lock(ops_mu_);
  bool dom0 = ref == "0" || ref == "Domain-0";
  RegisteredDomain d;
  if (!dom0) {
    TXEND_ASSIGN_OR_RETURN(d, Running(ref));
  }
  uint32_t domid = dom0 ? 0 : *d.domid;
  TXEND_ASSIGN_OR_RETURN(SchedCredit credit, hv_.GetSchedCredit(domid));
  if (weight) credit.weight = *weight;
  if (cap) credit.cap = *cap;
  TXEND_RETURN_IF_ERROR(hv_.SetSchedCredit(domid, credit));
  if (dom0) return Status::Ok();
  d.config.cpu_weight = credit.weight;
  d.config.cpu_cap = credit.cap;
  return registry_->Update(d.config.uuid, d.config);
}

Status Toolstack::Save(std::string_view ref, const std::string& path) {
  std::lock_guard lock(ops_mu_);
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, Running(ref));
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::Error(errno, "cannot create " + path + ": " + strerror(errno));
  auto fail = [&](Status st) {
    close(fd);
    unlink(path.c_str());
    return st;
  };
  std::string header = std::string(kSaveMagic) + sxp::Show(d.config.ToSxp()) + "\n";
  if (write(fd, header.data(), header.size()) != static_cast<ssize_t>(header.size()))
    return fail(Status::Error(EIO, "cannot write " + path));
  std::string control = DomainHome(*d.domid) + "/control/shutdown";
  Status asked = xs::RunTransaction(xs_, [&](xs::Transaction& tx) { return tx.Write(control, "suspend"); });
  if (!asked.ok()) return fail(asked);
  auto deadline = std::chrono::steady_clock::now() + options_.shutdown_timeout;
  while (true) {  // the guest suspends itself; ask the hypervisor, not xenstore
    TXEND_ASSIGN_OR_RETURN(DomainInfo info, hv_.GetDomain(*d.domid));
    if (info.shutdown && info.shutdown_reason == ShutdownReason::kSuspend) break;
    if (std::chrono::steady_clock::now() > deadline)
      return fail(Status::Error(ETIMEDOUT, "Domain '" + d.config.name + "' did not suspend"));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  Status saved = hv_.Save(*d.domid, fd);
  if (!saved.ok()) return fail(saved);
  if (fsync(fd) != 0) return fail(Status::Error(errno, "cannot sync " + path));
  close(fd);
  return DestroyLocked(d);
}

Result<uint32_t> Toolstack::Restore(const std::string& path, bool paused) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::Error(errno, "cannot open " + path + ": " + strerror(errno));
  std::string magic(sizeof kSaveMagic - 1, '\0'), line;
  ssize_t n = read(fd, magic.data(), magic.size());
  char c;
  while (n > 0 && read(fd, &c, 1) == 1 && c != '\n') line.push_back(c);
  close(fd);
  if (magic != kSaveMagic) return Status::Error(EINVAL, path + " is not a txend save file");
  TXEND_ASSIGN_OR_RETURN(sxp::Value v, sxp::Parse(line));
  TXEND_ASSIGN_OR_RETURN(DomainConfig config, DomainConfig::FromSxp(v));
  std::lock_guard lock(ops_mu_);
  return CreateLocked(std::move(config), paused, path);
}

Status Toolstack::DumpCore(std::string_view ref, const std::string& path) {
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, Running(ref));
  return hv_.DumpCore(*d.domid, path);
}

Status Toolstack::Sysrq(std::string_view ref, std::string_view key) {
  if (key.size() != 1) return Status::Error(EINVAL, "sysrq key must be one character, not '" + std::string(key) + "'");
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, Running(ref));
  std::string path = DomainHome(*d.domid) + "/control/sysrq";
  return xs::RunTransaction(xs_, [&](xs::Transaction& tx) { return tx.Write(path, key); });
}

Result<uint32_t> Toolstack::Reset(std::string_view ref) {
  std::lock_guard lock(ops_mu_);
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, Running(ref));
  TXEND_RETURN_IF_ERROR(DestroyLocked(d));
  return CreateLocked(d.config, false, "");
}

Status Toolstack::New(DomainConfig config) {
  config.FillDefaults(options_.random);
  TXEND_RETURN_IF_ERROR(config.Validate());
  std::lock_guard lock(ops_mu_);
  return registry_->Define(config);
}

Result<uint32_t> Toolstack::Start(std::string_view ref, bool paused) {
  std::lock_guard lock(ops_mu_);
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, registry_->Lookup(ref));
  if (!d.managed) return Status::Error(EINVAL, "Domain '" + d.config.name + "' is not a managed domain.");
  if (d.domid) return Status::Error(EEXIST, "Domain '" + d.config.name + "' is already running.");
  return CreateLocked(d.config, paused, "");
}

Status Toolstack::Delete(std::string_view ref) {
  std::lock_guard lock(ops_mu_);
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, registry_->Lookup(ref));
  return registry_->Undefine(d.config.uuid);
}

// on_poweroff / on_reboot / on_crash, as xend carried them out.
void Toolstack::OnDomainExit(const RegisteredDomain& d, const DomainInfo& info) {
  const std::string& action = info.shutdown_reason == ShutdownReason::kReboot ? d.config.on_reboot
                              : info.crashed() || info.shutdown_reason == ShutdownReason::kWatchdog
                                  ? d.config.on_crash
                                  : d.config.on_poweroff;
  if (action == "preserve") return;
  if (action.starts_with("coredump-")) {
    std::string dir = options_.state_dir + "/dump";
    mkdir(dir.c_str(), 0700);
    (void)hv_.DumpCore(info.domid, dir + "/" + d.config.name + "." + std::to_string(info.domid) + ".core");
  }
  bool restart = action.ends_with("restart") &&
                 !(info.crashed() && options_.wall_clock() - d.start_time < kMinRestartSeconds);
  if (action == "rename-restart") {
    // Keep the dead domain under another name and uuid; start a fresh one.
    DomainConfig old = d.config;
    old.name = d.config.name + "-" + std::to_string(info.domid);
    old.uuid.clear();
    old.FillDefaults(options_.random);
    (void)xs::RunTransaction(xs_, [&](xs::Transaction& tx) {
      return tx.Write(DomainHome(info.domid) + "/name", old.name);
    });
    registry_->RemoveRunning(info.domid);
    (void)registry_->AddRunning(old, info.domid, d.start_time);
    (void)CreateLocked(d.config, false, "");
    return;
  }
  (void)DestroyLocked(d);
  if (restart) (void)CreateLocked(d.config, false, "");
}

}  // namespace txend::toolstack
