// Toolstack: opening, recovery, queries and domain-exit events.
#include "toolstack/toolstack.h"

#include <chrono>

namespace txend::toolstack {
namespace {

XenbusState StateOf(const Result<std::string>& r) {
  return r.ok() ? XenbusStateFromNode(*r).value_or(XenbusState::kUnknown) : XenbusState::kUnknown;
}

ToolstackOptions WithDefaults(ToolstackOptions options) {
  if (!options.random) options.random = SystemRandomBytes();
  if (!options.wall_clock)
    options.wall_clock = [] {
      return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
          .count();
    };
  return options;
}

}  // namespace

Toolstack::Toolstack(xs::Connection& xs, Hypervisor& hv, ToolstackOptions options,
                     std::unique_ptr<DomainRegistry> reg)
    : xs_(xs), hv_(hv), options_(std::move(options)), registry_(std::move(reg)) {}

Result<std::unique_ptr<Toolstack>> Toolstack::Open(xs::Connection& xs, Hypervisor& hv,
                                                   ToolstackOptions options) {
  options = WithDefaults(std::move(options));
  TXEND_ASSIGN_OR_RETURN(auto registry, DomainRegistry::Open(options.state_dir, options.random));
  std::unique_ptr<Toolstack> t(new Toolstack(xs, hv, std::move(options), std::move(registry)));
  TXEND_RETURN_IF_ERROR(t->Recover());
  Toolstack* raw = t.get();
  t->events_thread_ = std::thread([raw] { raw->EventLoop(); });
  TXEND_ASSIGN_OR_RETURN(
      xs::Watch w, xs.AddWatch("@releaseDomain", [raw](const std::string&, const std::string&) {
        std::lock_guard lock(raw->events_mu_);
        raw->events_pending_ = true;
        raw->events_cv_.notify_one();
      }));
  t->release_watch_.emplace(std::move(w));
  return t;
}

Toolstack::~Toolstack() {
  release_watch_.reset();
  {
    std::lock_guard lock(events_mu_);
    stopping_ = true;
    events_cv_.notify_one();
  }
  if (events_thread_.joinable()) events_thread_.join();
}

// Matches running domains to their recorded configs; rewrites what xenstore
// lost (an xsd restarted without persistence) and re-introduces them.
Status Toolstack::Recover() {
  TXEND_RETURN_IF_ERROR(DiscardUnfinishedIncoming());
  TXEND_ASSIGN_OR_RETURN(auto domains, hv_.ListDomains());
  std::vector<std::pair<DomainInfo, std::shared_ptr<const RegisteredConfig>>> ours;
  std::vector<std::string> start_paths;
  for (const auto& info : domains) {
    auto config = info.domid == 0 ? nullptr : registry_->RunningConfig(info.uuid.ToString());
    if (!config) continue;
    ours.emplace_back(info, config);
    start_paths.push_back(VmPath(config->config->uuid) + "/start_time");
  }
  std::vector<xs::Transaction::NodeWrite> writes = {
      {DomainHome(0) + "/name", kDom0Name, std::nullopt},
      {DomainHome(0) + "/domid", "0", std::nullopt}};
  {
    TXEND_ASSIGN_OR_RETURN(auto snap, xs::Snapshot::Begin(xs_));
    auto starts = snap.ReadMany(start_paths);
    for (size_t i = 0; i < ours.size(); ++i) {
      const auto& [info, config] = ours[i];
      bool known = starts[i].ok();
      double start_time = known ? std::atof(starts[i]->c_str()) : options_.wall_clock();
      TXEND_RETURN_IF_ERROR(registry_->AddRunning(config, info.domid, start_time));
      if (known) continue;  // xenstore forgot this domain (xsd restarted without persistence)
      TXEND_ASSIGN_OR_RETURN(auto nodes,
                             DomainNodes(*config->config, {info.domid, 0, 0, 0, 0, start_time}));
      writes.insert(writes.end(), nodes.begin(), nodes.end());
    }
  }
  TXEND_RETURN_IF_ERROR(WriteInTransaction(writes));
  for (const auto& [info, config] : ours) {
    auto introduced = xs_.IsDomainIntroduced(info.domid);
    if (introduced.ok() && !*introduced) TXEND_RETURN_IF_ERROR(xs_.Introduce(info.domid, 0, 0));
  }
  return Status::Ok();
}

Result<ValidConfig> Toolstack::ParseConfig(const sxp::Value& vm) const {
  return FromSxp(vm, options_.random);
}

Result<ValidConfig> Toolstack::CheckConfig(DomainConfig config) const {
  return ValidConfig::Check(std::move(config), options_.random);
}

Status Toolstack::WriteInTransaction(const std::vector<xs::Transaction::NodeWrite>& writes) {
  return xs::RunTransaction(xs_, [&](xs::Transaction& tx) { return tx.WriteMany(writes); });
}

// Reads, for every record with a domid, its memory target and device states —
// all pipelined in the caller's one snapshot.
static void ReadXenstoreState(xs::ReadContext& snap, std::vector<DomainRecord>& records) {
  std::vector<std::string> paths;
  for (auto& r : records) {
    if (!r.info || r.info->domid == 0) continue;
    paths.push_back(DomainHome(r.info->domid) + "/memory/target");
    for (auto& d : r.devices) {
      paths.push_back(d.backend_path + "/state");
      paths.push_back(d.ref.FrontendPath(r.info->domid) + "/state");
    }
  }
  auto values = snap.ReadMany(paths);
  size_t i = 0;
  for (auto& r : records) {
    if (!r.info || r.info->domid == 0) continue;
    r.memory_target_kib = values[i].ok() ? std::strtoull(values[i]->c_str(), nullptr, 10) : 0;
    ++i;
    for (auto& d : r.devices) {
      d.backend_state = StateOf(values[i++]);
      d.frontend_state = StateOf(values[i++]);
    }
  }
}

Result<std::vector<DomainRecord>> Toolstack::List(xs::ReadContext& snapshot) {
  TXEND_ASSIGN_OR_RETURN(auto infos, hv_.ListDomains());
  std::map<uint32_t, DomainInfo> by_domid;
  for (auto& i : infos) by_domid[i.domid] = i;
  std::vector<DomainRecord> records;
  if (by_domid.count(0)) records.push_back(DomainRecord::Dom0(by_domid[0]));
  for (const auto& d : registry_->All()) {
    std::optional<DomainInfo> info;
    if (d.domid) {
      auto it = by_domid.find(*d.domid);
      if (it == by_domid.end() && !d.managed) continue;  // gone; exit handling will tidy up
      if (it != by_domid.end()) info = it->second;
    }
    records.push_back(DomainRecord::Of(d, std::move(info)));
  }
  ReadXenstoreState(snapshot, records);
  std::sort(records.begin() + (records.empty() ? 0 : 1), records.end(),
            [](const DomainRecord& a, const DomainRecord& b) {
              if (a.info.has_value() != b.info.has_value()) return a.info.has_value();
              return a.info ? a.info->domid < b.info->domid : a.config->name < b.config->name;
            });
  return records;
}

Result<DomainRecord> Toolstack::Get(xs::ReadContext& snapshot, std::string_view ref) {
  TXEND_ASSIGN_OR_RETURN(ResolvedRef resolved, registry_->Resolve(ref));
  if (resolved.is_dom0()) {
    TXEND_ASSIGN_OR_RETURN(DomainInfo info, hv_.GetDomainInfo(kDom0));
    return DomainRecord::Dom0(info);
  }
  const RegisteredDomain& d = *resolved.domain;
  std::optional<DomainInfo> info;
  if (d.domid) {
    auto i = hv_.GetDomainInfo(*d.domid);
    if (i.ok())
      info = *i;
    else if (!d.managed)
      return Status::Error(ESRCH, "Domain '" + std::string(ref) + "' does not exist.");
  }
  std::vector<DomainRecord> one{DomainRecord::Of(d, std::move(info))};
  ReadXenstoreState(snapshot, one);
  return std::move(one[0]);
}

Result<NodeRecord> Toolstack::Node() {
  NodeRecord n;
  TXEND_ASSIGN_OR_RETURN(n.phys, hv_.Physinfo());
  TXEND_ASSIGN_OR_RETURN(n.version, hv_.Version());
  n.hypervisor = std::string(hv_.Name());
  return n;
}

Result<std::string> Toolstack::Dmesg(bool clear) { return hv_.ReadConsoleRing(clear); }

Result<std::vector<Toolstack::DeviceDetail>> Toolstack::DeviceDetails(xs::ReadContext& snap,
                                                                      std::string_view ref,
                                                                      std::string_view type) {
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, registry_->Running(ref));
  std::string dir = DomainHome(*d.domid) + "/device/" + std::string(type);
  TXEND_ASSIGN_OR_RETURN(auto ids, snap.DirectoryIfExists(dir));
  std::vector<std::string> dirs;
  for (const auto& id : ids) dirs.push_back(dir + "/" + id);
  auto names = snap.DirectoryMany(dirs);
  std::vector<std::string> paths;
  for (size_t i = 0; i < dirs.size(); ++i)
    if (names[i].ok())
      for (const auto& n : *names[i]) paths.push_back(dirs[i] + "/" + n);
  auto values = snap.ReadMany(paths);
  std::vector<DeviceDetail> out;
  size_t k = 0;
  for (size_t i = 0; i < dirs.size(); ++i) {
    DeviceDetail detail;
    detail.devid = static_cast<uint32_t>(std::strtoul(ids[i].c_str(), nullptr, 10));
    if (names[i].ok())
      for (const auto& n : *names[i]) {
        if (values[k].ok()) detail.nodes.emplace_back(n, *values[k]);
        ++k;
      }
    out.push_back(std::move(detail));
  }
  return out;
}

Result<std::vector<VcpuInfo>> Toolstack::Vcpus(std::string_view ref) {
  TXEND_ASSIGN_OR_RETURN(ResolvedRef resolved, registry_->ResolveRunning(ref));
  return ListVcpus(hv_, *resolved.domid());
}

void Toolstack::EventLoop() {
  while (true) {
    {
      std::unique_lock lock(events_mu_);
      events_cv_.wait(lock, [&] { return stopping_ || events_pending_; });
      if (stopping_) return;
      events_pending_ = false;
    }
    HandleDomainExits();
  }
}

void Toolstack::HandleDomainExits() {
  std::lock_guard ops(ops_mu_);
  auto infos = hv_.ListDomains();
  if (!infos.ok()) return;
  std::map<uint32_t, DomainInfo> by_domid;
  for (auto& i : *infos) by_domid[i.domid] = i;
  for (const auto& d : registry_->All()) {
    if (!d.domid) continue;
    auto it = by_domid.find(*d.domid);
    if (it == by_domid.end()) {  // destroyed behind our back: tidy up
      (void)DestroyLocked(d);
      continue;
    }
    const DomainInfo& info = it->second;
    bool exited =
        info.crashed || (info.shutdown && info.shutdown_reason != ShutdownReason::kSuspend);
    if (exited) OnDomainExit(d, info);
  }
}

}  // namespace txend::toolstack
