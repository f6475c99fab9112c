#include "toolstack/hypervisor/sim/sim_hypervisor.h"

#include <algorithm>
#include <cstdio>

#include "toolstack/hypervisor/hypervisor_validation.h"
#include "toolstack/hypervisor/kernel_image.h"
#include "toolstack/hypervisor/sim/sim_domain.h"

namespace txend::toolstack {
namespace {

constexpr uint32_t kMaxPauseCount = 255;  // Xen's limit on nested controller pauses
constexpr DomId kDomidSelf = 0x7FF0;      // DOMID_SELF
// Where a built guest's rings sit: low, after the kernel's start-of-day pages
// (the smallest guest, 1 MiB, has 256 pages).
constexpr uint64_t kConsolePfn = 0x10, kStorePfn = 0x11;

std::string Dom(DomId domid) { return "domain " + std::to_string(domid); }

SimEvent Event(SimEvent::Kind kind, DomId domid) {
  SimEvent e;
  e.kind = kind;
  e.domid = domid;
  return e;
}

Status NoSuchDomain(DomId domid) {
  return Status::Error(ESRCH, "no such domain " + std::to_string(domid));
}

SimOptions Normalized(SimOptions o) {
  o.nr_cpus = std::max<uint32_t>(o.nr_cpus, 1);
  o.threads_per_core = std::max<uint32_t>(o.threads_per_core, 1);
  if (o.cores_per_socket == 0)
    o.cores_per_socket = std::max<uint32_t>(o.nr_cpus / o.threads_per_core, 1);
  if (o.dom0_vcpus == 0) o.dom0_vcpus = o.nr_cpus;
  o.dom0_memory_kib = std::min(o.dom0_memory_kib, o.host_memory_kib);
  if (o.first_reserved_domid < 2 || o.first_reserved_domid > kFirstReservedDomId)
    o.first_reserved_domid = kFirstReservedDomId;
  if (!o.clock) o.clock = std::make_shared<SteadyClock>();
  return o;
}

}  // namespace

SimHypervisor::SimHypervisor(SimOptions options) : options_(Normalized(std::move(options))) {
  settled_ns_ = options_.clock->NowNs();
  auto dom0 = std::make_unique<Domain>();
  dom0->pause_count = 0;
  dom0->built = true;
  dom0->max_pages = KibToPages(options_.dom0_memory_kib);
  dom0->memory = GuestMemory(NextSeed(), dom0->max_pages);
  dom0->max_evtchn_port = 4095;
  dom0->settled_ns = settled_ns_;
  dom0->vcpus.resize(options_.dom0_vcpus);
  for (auto& v : dom0->vcpus) {
    v.online = true;
    v.affinity = CpuSet::FirstN(options_.nr_cpus);
  }
  domains_[kDom0] = std::move(dom0);
  Log("Xen version 4.17.0-sim (txend simulated hypervisor)");
  Log("Brought up " + std::to_string(options_.nr_cpus) + " CPUs, " +
      std::to_string(options_.host_memory_kib / 1024) + " MiB of RAM");
  Status loaded = LoadState();
  if (!loaded.ok()) fprintf(stderr, "simulated hypervisor: %s\n", loaded.ToString().c_str());
}

SimHypervisor::~SimHypervisor() = default;

void SimHypervisor::Settle(Domain& d) {
  uint64_t elapsed = settled_ns_ > d.settled_ns ? settled_ns_ - d.settled_ns : 0;
  d.settled_ns = std::max(settled_ns_, d.settled_ns);
  if (!d.Runnable()) return;
  for (auto& v : d.vcpus)
    if (v.online && !v.blocked) v.cpu_time_ns += elapsed;
}

void SimHypervisor::Log(const std::string& line) {
  char stamp[40];
  snprintf(stamp, sizeof stamp, "(XEN) [%12.6f] ", static_cast<double>(settled_ns_) / 1e9);
  console_ += stamp + line + "\n";
  if (console_.size() > (64u << 10)) console_.erase(0, console_.size() - (48u << 10));
}

Result<std::string> SimHypervisor::ReadConsoleRing(bool clear) {
  std::lock_guard lock(mu_);
  std::string ring = console_;
  if (clear) console_.clear();
  return ring;
}

void SimHypervisor::Dispatch(const Events& events) {
  if (events.list().empty()) return;
  std::vector<std::function<void(const SimEvent&)>> listeners;
  {
    std::lock_guard lock(mu_);
    static constexpr const char* kWhat[] = {"created",   "built",   "paused", "unpaused",
                                            "shut down", "resumed", "dying",  "destroyed"};
    for (const auto& e : events.list()) {
      std::string line = "d" + std::to_string(e.domid) + ": " + kWhat[static_cast<int>(e.kind)];
      if (e.kind == SimEvent::Kind::kShutdown)
        line += " (" + std::string(ShutdownReasonName(e.reason)) + ")";
      Log(line);
    }
    for (const auto& [id, l] : listeners_) listeners.push_back(l);
  }
  for (const auto& e : events.list())
    for (const auto& l : listeners) l(e);
}

Result<SimHypervisor::Domain*> SimHypervisor::Find(DomId domid) {
  auto it = domains_.find(domid);
  if (it == domains_.end()) return NoSuchDomain(domid);
  Settle(*it->second);
  return it->second.get();
}

Result<SimHypervisor::Domain*> SimHypervisor::FindLive(DomId domid) {
  TXEND_ASSIGN_OR_RETURN(Domain * d, Find(domid));
  if (d->dying) return Status::Error(EINVAL, Dom(domid) + " is dying");
  return d;
}

Status SimHypervisor::NotDom0(DomId domid, std::string_view action) const {
  if (domid == kDom0) return Status::Error(EPERM, "cannot " + std::string(action) + " domain 0");
  return Status::Ok();
}

uint64_t SimHypervisor::FreeKib() const {
  uint64_t used = 0;
  for (const auto& [domid, d] : domains_) used += d->UsedKib();
  return used >= options_.host_memory_kib ? 0 : options_.host_memory_kib - used;
}

Status SimHypervisor::Reserve(uint64_t kib) const {
  uint64_t free = FreeKib();
  if (kib > free)
    return Status::Error(ENOMEM, "not enough free memory: need " + std::to_string(kib) + " KiB, " +
                                     std::to_string(free) + " KiB free");
  return Status::Ok();
}

DomainInfo SimHypervisor::InfoOf(const Domain& d) const {
  DomainInfo info;
  info.domid = d.domid;
  info.uuid = d.uuid;
  info.ssidref = d.ssidref;
  info.hvm = d.hvm;
  info.dying = d.dying;
  bool crash = d.shutdown && d.reason == ShutdownReason::kCrash;
  info.shutdown = d.shutdown && !crash;
  info.crashed = crash;
  if (d.shutdown) info.shutdown_reason = d.reason;
  info.paused = d.pause_count > 0;
  uint32_t blocked = 0;
  for (const auto& v : d.vcpus) {
    if (!v.online) continue;
    ++info.online_vcpus;
    blocked += v.blocked;
    info.running |= d.Runnable() && !v.blocked;
  }
  info.blocked = !d.shutdown && !d.dying && info.online_vcpus > 0 && blocked == info.online_vcpus;
  for (const auto& v : d.vcpus) info.cpu_time_ns += v.cpu_time_ns;
  info.memory_kib = d.memory.nr_pages() * kPageKib;
  info.max_memory_kib = d.max_pages * kPageKib;
  info.max_vcpu_id = static_cast<uint32_t>(d.vcpus.size()) - 1;
  return info;
}

VcpuInfo SimHypervisor::VcpuOf(const Domain& d, uint32_t vcpu) const {
  const auto& v = d.vcpus[vcpu];
  VcpuInfo info;
  info.vcpu = vcpu;
  info.online = v.online;
  info.blocked = v.online && v.blocked;
  info.running = v.online && !v.blocked && d.Runnable();
  info.cpu_time_ns = v.cpu_time_ns;
  info.cpu = v.affinity.Nth(vcpu % v.affinity.Count());
  info.affinity = v.affinity;
  return info;
}

Result<VersionInfo> SimHypervisor::Version() {
  VersionInfo v;
  v.major = 4;
  v.minor = 17;
  v.extra = ".0-sim";
  v.caps = "xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64";
  v.changeset = "txend simulated hypervisor";
  v.compiler = "txend";
  v.compile_by = "txend";
  v.compile_domain = "sim";
  v.compile_date = "";
  v.scheduler = "credit";
  v.pagesize = 4096;
  v.virt_start = 0xffff800000000000ull;
  return v;
}

Result<PhysInfo> SimHypervisor::Physinfo() {
  std::lock_guard lock(mu_);
  PhysInfo p;
  p.nr_cpus = options_.nr_cpus;
  p.max_cpu_id = options_.nr_cpus - 1;
  p.nr_nodes = 1;
  p.threads_per_core = options_.threads_per_core;
  p.cores_per_socket = options_.cores_per_socket;
  p.sockets = std::max<uint32_t>(options_.nr_cpus / (p.cores_per_socket * p.threads_per_core), 1);
  p.cpu_khz = options_.cpu_khz;
  p.total_memory_kib = options_.host_memory_kib;
  p.free_memory_kib = FreeKib();
  p.hw_caps = {0x178bfbff, 0xf6d8320b, 0x2c100800, 0x000003f7, 0, 0, 0, 0};
  p.hvm = p.pv = p.hap = true;
  return p;
}

Result<DomId> SimHypervisor::PickDomid(DomId requested) {
  DomId limit = options_.first_reserved_domid;
  if (requested != 0) {
    if (requested >= limit)
      return Status::Error(EINVAL, "domain id " + std::to_string(requested) + " is reserved");
    if (domains_.count(requested)) return Status::Error(EEXIST, Dom(requested) + " already exists");
    return requested;
  }
  DomId candidate = rover_;
  for (DomId tries = 1; tries < limit; ++tries) {
    candidate = candidate + 1 >= limit ? 1 : candidate + 1;
    if (!domains_.count(candidate)) return rover_ = candidate;
  }
  return Status::Error(ENOMEM, "no free domain id");
}

Result<DomId> SimHypervisor::CreateDomain(const CreateRequest& request) {
  TXEND_RETURN_IF_ERROR(ValidateCreateRequest(request));
  return Locked([&](Events& events) -> Result<DomId> {
    TXEND_ASSIGN_OR_RETURN(DomId domid, PickDomid(request.domid));
    auto d = std::make_unique<Domain>();
    d->domid = domid;
    d->uuid = request.uuid;
    d->ssidref = request.ssidref;
    d->hvm = request.hvm_container();
    d->max_evtchn_port = request.max_evtchn_port;
    d->settled_ns = settled_ns_;
    d->vcpus.resize(request.max_vcpus);
    for (auto& v : d->vcpus) v.affinity = CpuSet::FirstN(options_.nr_cpus);
    domains_[domid] = std::move(d);
    events.Add(Event(SimEvent::Kind::kCreated, domid));
    return domid;
  });
}

Result<DomainInfo> SimHypervisor::GetDomainInfo(DomId domid) {
  return Locked([&](Events&) -> Result<DomainInfo> {
    TXEND_ASSIGN_OR_RETURN(Domain * d, Find(domid));
    return InfoOf(*d);
  });
}

Result<std::vector<DomainInfo>> SimHypervisor::ListDomains() {
  return Locked([&](Events&) -> Result<std::vector<DomainInfo>> {
    std::vector<DomainInfo> list;
    for (const auto& [domid, d] : domains_) {
      Settle(*d);
      list.push_back(InfoOf(*d));
    }
    return list;
  });
}

Status SimHypervisor::SetMaxMemory(DomId domid, uint64_t kib) {
  return Locked([&](Events&) -> Status {
    TXEND_ASSIGN_OR_RETURN(Domain * d, FindLive(domid));
    d->max_pages = KibToPages(kib);
    dirty_.insert(domid);
    return Status::Ok();
  });
}

Status SimHypervisor::SetShadowMemory(DomId domid, uint64_t kib) {
  return Locked([&](Events&) -> Status {
    TXEND_ASSIGN_OR_RETURN(Domain * d, FindLive(domid));
    uint64_t want = KibToPages(kib) * kPageKib;
    if (want > d->shadow_kib) TXEND_RETURN_IF_ERROR(Reserve(want - d->shadow_kib));
    d->shadow_kib = want;
    dirty_.insert(domid);
    return Status::Ok();
  });
}

Status SimHypervisor::Pause(DomId domid) {
  return Locked([&](Events& events) -> Status {
    TXEND_RETURN_IF_ERROR(NotDom0(domid, "pause"));
    TXEND_ASSIGN_OR_RETURN(Domain * d, FindLive(domid));
    if (d->pause_count >= kMaxPauseCount)
      return Status::Error(EBUSY, Dom(domid) + " is paused too many times");
    if (d->pause_count++ == 0) events.Add(Event(SimEvent::Kind::kPaused, domid));
    return Status::Ok();
  });
}

Status SimHypervisor::Unpause(DomId domid) {
  return Locked([&](Events& events) -> Status {
    TXEND_ASSIGN_OR_RETURN(Domain * d, FindLive(domid));
    if (d->pause_count == 0) return Status::Error(EINVAL, Dom(domid) + " is not paused");
    if (--d->pause_count == 0) events.Add(Event(SimEvent::Kind::kUnpaused, domid));
    return Status::Ok();
  });
}

Status SimHypervisor::Shutdown(DomId domid, ShutdownReason reason) {
  return GuestShutdown(domid, reason);
}

Result<bool> SimHypervisor::HasPvDrivers(DomId domid) {
  TXEND_RETURN_IF_ERROR(GetDomainInfo(domid).status());
  return true;
}

Status SimHypervisor::GuestShutdown(DomId domid, ShutdownReason reason) {
  TXEND_RETURN_IF_ERROR(ShutdownReasonFromCode(static_cast<uint32_t>(reason)).status());
  return Locked([&](Events& events) -> Status {
    TXEND_RETURN_IF_ERROR(NotDom0(domid, "shut down"));
    TXEND_ASSIGN_OR_RETURN(Domain * d, FindLive(domid));
    if (d->shutdown) return Status::Ok();  // the first reason stands
    d->shutdown = true;
    d->reason = reason;
    SimEvent e = Event(SimEvent::Kind::kShutdown, domid);
    e.reason = reason;
    events.Add(e);
    return Status::Ok();
  });
}

Status SimHypervisor::Resume(DomId domid) {
  return Locked([&](Events& events) -> Status {
    TXEND_ASSIGN_OR_RETURN(Domain * d, FindLive(domid));
    if (!d->shutdown || d->reason != ShutdownReason::kSuspend)
      return Status::Error(EINVAL, Dom(domid) + " is not suspended");
    d->shutdown = false;
    events.Add(Event(SimEvent::Kind::kResumed, domid));
    return Status::Ok();
  });
}

void SimHypervisor::Release(DomId domid, Events& events) {
  domains_.erase(domid);
  events.Add(Event(SimEvent::Kind::kReleased, domid));
}

Status SimHypervisor::Destroy(DomId domid) {
  return Locked([&](Events& events) -> Status {
    TXEND_RETURN_IF_ERROR(NotDom0(domid, "destroy"));
    TXEND_ASSIGN_OR_RETURN(Domain * d, Find(domid));
    if (d->dying) return Status::Ok();
    d->dying = true;
    if (d->refs == 0)
      Release(domid, events);
    else
      events.Add(Event(SimEvent::Kind::kDying, domid));
    return Status::Ok();
  });
}

Status SimHypervisor::HoldReference(DomId domid) {
  return Locked([&](Events&) -> Status {
    TXEND_ASSIGN_OR_RETURN(Domain * d, FindLive(domid));
    ++d->refs;
    return Status::Ok();
  });
}

Status SimHypervisor::DropReference(DomId domid) {
  return Locked([&](Events& events) -> Status {
    TXEND_ASSIGN_OR_RETURN(Domain * d, Find(domid));
    if (d->refs == 0) return Status::Error(EINVAL, Dom(domid) + " holds no references");
    if (--d->refs == 0 && d->dying) Release(domid, events);
    return Status::Ok();
  });
}

Result<VcpuInfo> SimHypervisor::GetVcpuInfo(DomId domid, uint32_t vcpu) {
  return Locked([&](Events&) -> Result<VcpuInfo> {
    TXEND_ASSIGN_OR_RETURN(Domain * d, Find(domid));
    TXEND_RETURN_IF_ERROR(ValidateVcpu(domid, vcpu, static_cast<uint32_t>(d->vcpus.size())));
    return VcpuOf(*d, vcpu);
  });
}

Status SimHypervisor::SetVcpuAffinity(DomId domid, uint32_t vcpu, const CpuSet& cpus) {
  return Locked([&](Events&) -> Status {
    TXEND_ASSIGN_OR_RETURN(Domain * d, FindLive(domid));
    TXEND_RETURN_IF_ERROR(ValidateVcpu(domid, vcpu, static_cast<uint32_t>(d->vcpus.size())));
    TXEND_RETURN_IF_ERROR(ValidateAffinity(cpus, options_.nr_cpus));
    d->vcpus[vcpu].affinity = cpus;
    dirty_.insert(domid);
    return Status::Ok();
  });
}

Result<SchedCredit> SimHypervisor::GetSchedCredit(DomId domid) {
  return Locked([&](Events&) -> Result<SchedCredit> {
    TXEND_ASSIGN_OR_RETURN(Domain * d, Find(domid));
    return d->credit;
  });
}

Status SimHypervisor::SetSchedCredit(DomId domid, const SchedCredit& params) {
  return Locked([&](Events&) -> Status {
    TXEND_ASSIGN_OR_RETURN(Domain * d, FindLive(domid));
    TXEND_RETURN_IF_ERROR(ValidateSchedCredit(params, static_cast<uint32_t>(d->vcpus.size())));
    d->credit = params;
    dirty_.insert(domid);
    return Status::Ok();
  });
}

Result<uint32_t> SimHypervisor::AllocUnboundPort(DomId domid, DomId remote) {
  return Locked([&](Events&) -> Result<uint32_t> {
    TXEND_ASSIGN_OR_RETURN(Domain * d, FindLive(domid));
    if (remote == kDomidSelf) remote = domid;
    if (remote >= options_.first_reserved_domid)
      return Status::Error(EINVAL, "invalid remote domain " + std::to_string(remote));
    for (uint32_t port = 1; port <= d->max_evtchn_port; ++port) {
      if (d->ports.count(port)) continue;
      d->ports[port] = remote;
      dirty_.insert(domid);
      return port;
    }
    return Status::Error(ENOSPC, Dom(domid) + " has no free event channel (max port " +
                                     std::to_string(d->max_evtchn_port) + ")");
  });
}

Status SimHypervisor::CheckPort(const Domain& d, uint32_t port, std::string_view what) const {
  if (!d.ports.count(port))
    return Status::Error(EINVAL, std::string(what) + " port " + std::to_string(port) +
                                     " is not an allocated event channel of " + Dom(d.domid));
  return Status::Ok();
}

void SimHypervisor::StartGuest(Domain& d, uint32_t store_port, uint32_t console_port, bool restored,
                               Events& events) {
  uint64_t pages = d.memory.nr_pages();
  d.built = true;
  d.mfn_base = next_mfn_;
  next_mfn_ += pages;
  d.store_port = store_port;
  d.console_port = console_port;
  SimEvent e = Event(SimEvent::Kind::kBuilt, d.domid);
  e.rings = {d.mfn_base + d.store_pfn, d.mfn_base + d.console_pfn};
  e.store_port = store_port;
  e.console_port = console_port;
  e.restored = restored;
  events.Add(e);
}

Result<GuestRings> SimHypervisor::BuildLocked(DomId domid, bool hvm, uint64_t memory_kib,
                                              uint32_t store_port, uint32_t console_port,
                                              Events& events) {
  TXEND_ASSIGN_OR_RETURN(Domain * d, FindLive(domid));
  if (d->hvm != hvm)
    return Status::Error(EINVAL,
                         Dom(domid) + (d->hvm ? " is HVM; BuildPv builds PV guests"
                                              : " is PV; BuildHvm builds HVM and PVH guests"));
  if (d->built || d->memory.nr_pages() > 0)
    return Status::Error(EBUSY, Dom(domid) + " is already built");
  TXEND_RETURN_IF_ERROR(CheckPort(*d, store_port, "store"));
  TXEND_RETURN_IF_ERROR(CheckPort(*d, console_port, "console"));
  uint64_t pages = KibToPages(memory_kib);
  if (pages > d->max_pages)
    return Status::Error(ENOMEM, Dom(domid) + ": " + std::to_string(pages * kPageKib) +
                                     " KiB exceeds its maximum of " +
                                     std::to_string(d->max_pages * kPageKib) + " KiB");
  TXEND_RETURN_IF_ERROR(Reserve(pages * kPageKib));
  d->memory = GuestMemory(NextSeed(), pages);
  d->console_pfn = kConsolePfn;
  d->store_pfn = kStorePfn;
  for (auto& v : d->vcpus) v = {true, false, v.cpu_time_ns, v.affinity};
  StartGuest(*d, store_port, console_port, false, events);
  return GuestRings{d->mfn_base + d->store_pfn, d->mfn_base + d->console_pfn};
}

Result<GuestRings> SimHypervisor::BuildPv(DomId domid, const PvBuildRequest& request) {
  TXEND_RETURN_IF_ERROR(ValidatePvBuildRequest(request));
  TXEND_RETURN_IF_ERROR(CheckKernelFile(request.kernel).status());
  if (!request.ramdisk.empty())
    TXEND_RETURN_IF_ERROR(CheckReadableFile(request.ramdisk, "ramdisk"));
  return Locked([&](Events& events) -> Result<GuestRings> {
    return BuildLocked(domid, false, request.memory_kib, request.store_port, request.console_port,
                       events);
  });
}

Result<GuestRings> SimHypervisor::BuildHvm(DomId domid, const HvmBuildRequest& request) {
  TXEND_RETURN_IF_ERROR(ValidateHvmBuildRequest(request));
  if (request.type == GuestType::kPvh) {
    TXEND_RETURN_IF_ERROR(CheckKernelFile(request.kernel).status());
    if (!request.ramdisk.empty())
      TXEND_RETURN_IF_ERROR(CheckReadableFile(request.ramdisk, "ramdisk"));
  } else {
    TXEND_RETURN_IF_ERROR(CheckReadableFile(request.firmware, "firmware"));
    if (!request.system_firmware.empty())
      TXEND_RETURN_IF_ERROR(CheckReadableFile(request.system_firmware, "system firmware"));
  }
  return Locked([&](Events& events) -> Result<GuestRings> {
    return BuildLocked(domid, true, request.memory_kib, request.store_port, request.console_port,
                       events);
  });
}

int SimHypervisor::Subscribe(std::function<void(const SimEvent&)> listener) {
  std::lock_guard lock(mu_);
  listeners_[next_listener_] = std::move(listener);
  return next_listener_++;
}

void SimHypervisor::Unsubscribe(int id) {
  std::lock_guard lock(mu_);
  listeners_.erase(id);
}

Status SimHypervisor::GuestSetMemory(DomId domid, uint64_t kib) {
  return Locked([&](Events&) -> Status {
    TXEND_ASSIGN_OR_RETURN(Domain * d, FindLive(domid));
    if (!d->built) return Status::Error(EINVAL, Dom(domid) + " has no running guest");
    if (d->memory.log_dirty()) return Status::Error(EBUSY, Dom(domid) + " is being saved");
    uint64_t pages = KibToPages(kib), now = d->memory.nr_pages();
    if (pages <= std::max(d->store_pfn, d->console_pfn))
      return Status::Error(
          EINVAL, "cannot balloon " + Dom(domid) + " down to " + std::to_string(kib) + " KiB");
    if (pages > d->max_pages)
      return Status::Error(ENOMEM, Dom(domid) + ": " + std::to_string(kib) +
                                       " KiB exceeds its maximum of " +
                                       std::to_string(d->max_pages * kPageKib) + " KiB");
    if (pages == now) return Status::Ok();  // a guest re-reading an unchanged target
    if (pages > now) TXEND_RETURN_IF_ERROR(Reserve((pages - now) * kPageKib));
    d->memory.Resize(pages);
    dirty_.insert(domid);
    return Status::Ok();
  });
}

Status SimHypervisor::GuestSetVcpuOnline(DomId domid, uint32_t vcpu, bool online) {
  return Locked([&](Events&) -> Status {
    TXEND_ASSIGN_OR_RETURN(Domain * d, FindLive(domid));
    TXEND_RETURN_IF_ERROR(ValidateVcpu(domid, vcpu, static_cast<uint32_t>(d->vcpus.size())));
    if (!d->built) return Status::Error(EINVAL, Dom(domid) + " has no running guest");
    if (d->vcpus[vcpu].online == online) return Status::Ok();
    d->vcpus[vcpu].online = online;
    dirty_.insert(domid);
    return Status::Ok();
  });
}

Status SimHypervisor::GuestSetVcpuBlocked(DomId domid, uint32_t vcpu, bool blocked) {
  return Locked([&](Events&) -> Status {
    TXEND_ASSIGN_OR_RETURN(Domain * d, FindLive(domid));
    TXEND_RETURN_IF_ERROR(ValidateVcpu(domid, vcpu, static_cast<uint32_t>(d->vcpus.size())));
    if (d->vcpus[vcpu].blocked == blocked) return Status::Ok();
    d->vcpus[vcpu].blocked = blocked;
    dirty_.insert(domid);
    return Status::Ok();
  });
}

Status SimHypervisor::GuestTouchPages(DomId domid, std::span<const uint64_t> pfns, uint64_t salt) {
  return Locked([&](Events&) -> Status {
    TXEND_ASSIGN_OR_RETURN(Domain * d, FindLive(domid));
    for (uint64_t pfn : pfns)
      if (pfn >= d->memory.nr_pages())
        return Status::Error(EINVAL, Dom(domid) + " has no page " + std::to_string(pfn));
    for (uint64_t pfn : pfns) TXEND_RETURN_IF_ERROR(d->memory.Touch(pfn, salt));
    return Status::Ok();
  });
}

Result<uint64_t> SimHypervisor::GuestDirtyPages(DomId domid, uint64_t count, uint64_t working_set,
                                                uint64_t salt) {
  return Locked([&](Events&) -> Result<uint64_t> {
    TXEND_ASSIGN_OR_RETURN(Domain * d, FindLive(domid));
    if (!d->Runnable() || !d->built) return uint64_t{0};
    uint64_t pages = d->memory.nr_pages();
    uint64_t window = working_set == 0 ? pages : std::min(working_set, pages);
    uint64_t state = salt;
    for (uint64_t i = 0; i < count; ++i) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;  // LCG step
      TXEND_RETURN_IF_ERROR(d->memory.Touch((state >> 17) % window, salt + i));
    }
    return count;
  });
}

Result<uint64_t> SimHypervisor::MemoryDigest(DomId domid) {
  return Locked([&](Events&) -> Result<uint64_t> {
    TXEND_ASSIGN_OR_RETURN(Domain * d, Find(domid));
    return d->memory.Digest();
  });
}

}  // namespace txend::toolstack
