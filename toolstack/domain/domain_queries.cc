#include "toolstack/domain/domain_queries.h"

#include <algorithm>
#include <map>

#include "base/numbers.h"
#include "toolstack/domain/host_pci.h"

namespace txend::toolstack {
namespace {

XenbusState StateOf(const Result<std::string>& r) {
  return r.ok() ? XenbusStateFromNode(*r).value_or(XenbusState::kUnknown) : XenbusState::kUnknown;
}

// Reads, for every record with a domid, its memory target, console tty and device states —
// all pipelined in the caller's one snapshot.
void ReadXenstoreState(xs::ReadContext& snap, std::vector<DomainRecord>& records) {
  std::vector<std::string> paths;
  for (auto& r : records) {
    if (!r.info || r.info->domid == 0) continue;
    paths.push_back(DomainHome(r.info->domid) + "/memory/target");
    paths.push_back(DomainHome(r.info->domid) + "/console/tty");
    if (r.config->is_hvm()) {
      paths.push_back(DomainHome(r.info->domid) + "/console/vnc-listen");
      paths.push_back(DomainHome(r.info->domid) + "/console/vnc-port");
    }
    for (auto& d : r.devices) {
      paths.push_back(d.backend_path + "/state");
      paths.push_back(d.ref.FrontendPath(r.info->domid) + "/state");
    }
  }
  auto values = snap.ReadMany(paths);
  size_t i = 0;
  for (auto& r : records) {
    if (!r.info || r.info->domid == 0) continue;
    r.memory_target_kib = values[i].ok() ? ParseInteger<uint64_t>(*values[i]).value_or(0) : 0;
    ++i;
    if (values[i].ok()) r.console_tty = *values[i];
    ++i;
    if (r.config->is_hvm()) {
      if (values[i].ok() && values[i + 1].ok()) r.vnc_location = *values[i] + ":" + *values[i + 1];
      i += 2;
    }
    for (auto& d : r.devices) {
      d.backend_state = StateOf(values[i++]);
      d.frontend_state = StateOf(values[i++]);
    }
  }
}

// A registered running domain the hypervisor no longer has: txend is still
// tearing it down (its exit is being handled), so it shows as dying, under
// its id, until the registry lets it go; a waiter sees it gone only then.
DomainInfo Dying(uint32_t domid) {
  DomainInfo info;
  info.domid = domid;
  info.dying = true;
  return info;
}

}  // namespace

Result<std::vector<DomainRecord>> DomainQueries::List() {
  TXEND_RETURN_IF_ERROR(cache_.CatchUp());  // every write acknowledged before now is marked
  uint64_t epoch = cache_.Epoch();          // before the snapshot: later writes leave their mark
  TXEND_ASSIGN_OR_RETURN(auto infos, ctx_.hv.ListDomains());
  std::map<uint32_t, DomainInfo> by_domid;
  for (auto& i : infos) by_domid[i.domid] = i;
  std::vector<DomainRecord> records;
  if (by_domid.count(0)) records.push_back(DomainRecord::Dom0(by_domid[0]));
  std::vector<RegisteredDomain> all = ctx_.registry.All();
  std::vector<size_t> unread;  // indexes into records (and all, offset by dom0's)
  size_t first = records.size();
  for (const auto& d : all) {
    std::optional<DomainInfo> info;
    if (d.domid) {
      auto it = by_domid.find(*d.domid);
      info = it != by_domid.end() ? it->second : Dying(*d.domid);
    }
    records.push_back(DomainRecord::Of(d, std::move(info)));
    if (!cache_.Fill(records.back(), d)) unread.push_back(records.size() - 1);
  }
  if (!unread.empty()) {
    TXEND_ASSIGN_OR_RETURN(auto snap, xs::Snapshot::Begin(ctx_.xs));
    std::vector<DomainRecord> to_read;
    for (size_t i : unread) to_read.push_back(std::move(records[i]));
    ReadXenstoreState(snap, to_read);
    for (size_t k = 0; k < unread.size(); ++k) {
      cache_.Store(to_read[k], all[unread[k] - first], epoch);
      records[unread[k]] = std::move(to_read[k]);
    }
  }
  std::vector<uint32_t> running;
  for (const auto& d : all)
    if (d.domid) running.push_back(*d.domid);
  std::sort(running.begin(), running.end());
  cache_.Keep(running);
  std::sort(records.begin() + (records.empty() ? 0 : 1), records.end(),
            [](const DomainRecord& a, const DomainRecord& b) {
              if (a.info.has_value() != b.info.has_value()) return a.info.has_value();
              return a.info ? a.info->domid < b.info->domid : a.config->name < b.config->name;
            });
  return records;
}

Result<DomainRecord> DomainQueries::Get(std::string_view ref) {
  TXEND_ASSIGN_OR_RETURN(ResolvedRef resolved, ctx_.registry.Resolve(ref));
  TXEND_ASSIGN_OR_RETURN(DomainRecord record, RecordOf(resolved));
  if (!record.info || record.info->domid == 0) return record;  // nothing in xenstore to show
  TXEND_RETURN_IF_ERROR(cache_.CatchUp());  // every write acknowledged before now is marked
  uint64_t epoch = cache_.Epoch();
  if (cache_.Fill(record, *resolved.domain)) return record;
  TXEND_ASSIGN_OR_RETURN(auto snap, xs::Snapshot::Begin(ctx_.xs));
  std::vector<DomainRecord> one{std::move(record)};
  ReadXenstoreState(snap, one);
  cache_.Store(one[0], *resolved.domain, epoch);
  return std::move(one[0]);
}

bool DomainQueries::GetIsAtHand(std::string_view ref) const {
  auto resolved = ctx_.registry.Resolve(ref);
  if (!resolved.ok() || resolved->is_dom0() || !resolved->domain->domid) return true;
  return cache_.HoldsClean(*resolved->domain);
}

Result<DomainRecord> DomainQueries::Resolve(std::string_view ref) {
  TXEND_ASSIGN_OR_RETURN(ResolvedRef resolved, ctx_.registry.Resolve(ref));
  return RecordOf(resolved);
}

Result<DomainRecord> DomainQueries::RecordOf(const ResolvedRef& resolved) {
  if (resolved.is_dom0()) {
    TXEND_ASSIGN_OR_RETURN(DomainInfo info, ctx_.hv.GetDomainInfo(kDom0));
    return DomainRecord::Dom0(info);
  }
  const RegisteredDomain& d = *resolved.domain;
  std::optional<DomainInfo> info;
  if (d.domid) {
    auto i = ctx_.hv.GetDomainInfo(*d.domid);
    info = i.ok() ? *i : Dying(*d.domid);
  }
  return DomainRecord::Of(d, std::move(info));
}

Result<NodeRecord> DomainQueries::Node() {
  NodeRecord n;
  TXEND_ASSIGN_OR_RETURN(n.phys, ctx_.hv.Physinfo());
  TXEND_ASSIGN_OR_RETURN(n.version, ctx_.hv.Version());
  n.hypervisor = std::string(ctx_.hv.Name());
  return n;
}

Result<std::string> DomainQueries::Dmesg(bool clear) { return ctx_.hv.ReadConsoleRing(clear); }

Result<std::vector<DeviceDetail>> DomainQueries::DeviceDetails(xs::ReadContext& snap,
                                                               std::string_view ref,
                                                               std::string_view type) {
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, ctx_.registry.Running(ref));
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
    if (names[i].ok())
      for (const auto& n : *names[i]) {
        if (values[k].ok()) detail.nodes.emplace_back(n, *values[k]);
        ++k;
      }
    auto devid = ParseInteger<uint32_t>(ids[i]);  // the directory is the guest's: skip junk
    if (!devid.ok()) continue;
    detail.devid = *devid;
    out.push_back(std::move(detail));
  }
  return out;
}

Result<std::vector<VcpuInfo>> DomainQueries::Vcpus(std::string_view ref) {
  TXEND_ASSIGN_OR_RETURN(ResolvedRef resolved, ctx_.registry.ResolveRunning(ref));
  return ListVcpus(ctx_.hv, *resolved.domid());
}

std::vector<PciDevice> DomainQueries::AssignablePci() {
  std::vector<PciDevice> free = AssignablePciDevices(ctx_.options.sysfs_root);
  for (const RegisteredDomain& d : ctx_.registry.All()) {
    if (!d.domid) continue;
    for (const PciDevice& held : d.config().pci)
      std::erase_if(free, [&](const PciDevice& f) {
        return f.domain == held.domain && f.bus == held.bus && f.slot == held.slot &&
               f.func == held.func;
      });
  }
  return free;
}

}  // namespace txend::toolstack
