#include "toolstack/hypervisor/domain_events.h"

#include <map>

namespace txend::toolstack {
namespace {

std::map<DomId, const DomainInfo*> ById(const std::vector<DomainInfo>& list) {
  std::map<DomId, const DomainInfo*> m;
  for (const auto& d : list) m[d.domid] = &d;
  return m;
}

std::string_view KindName(DomainEvent::Kind kind) {
  switch (kind) {
    case DomainEvent::Kind::kAppeared:
      return "appeared";
    case DomainEvent::Kind::kShutdown:
      return "shutdown";
    case DomainEvent::Kind::kCrashed:
      return "crashed";
    case DomainEvent::Kind::kResumed:
      return "resumed";
    case DomainEvent::Kind::kDying:
      return "dying";
    case DomainEvent::Kind::kGone:
      return "gone";
  }
  return "?";
}

void DiffOne(const DomainInfo* old, const DomainInfo& now, std::vector<DomainEvent>& out) {
  using Kind = DomainEvent::Kind;
  if (old && old->uuid != now.uuid) {  // the id was reused by a new domain
    out.push_back({Kind::kGone, now.domid});
    old = nullptr;
  }
  if (!old) {
    out.push_back({Kind::kAppeared, now.domid});
    return;
  }
  if (now.shutdown && !old->shutdown)
    out.push_back({Kind::kShutdown, now.domid, now.shutdown_reason});
  if (now.crashed && !old->crashed) out.push_back({Kind::kCrashed, now.domid, now.shutdown_reason});
  bool was_down = old->shutdown || old->crashed, is_down = now.shutdown || now.crashed;
  if (was_down && !is_down && !now.dying) out.push_back({Kind::kResumed, now.domid});
  if (now.dying && !old->dying) out.push_back({Kind::kDying, now.domid});
}

}  // namespace

std::string DomainEvent::ToString() const {
  std::string s = "domain " + std::to_string(domid) + " " + std::string(KindName(kind));
  if (kind == Kind::kShutdown || kind == Kind::kCrashed)
    s += " (" + std::string(ShutdownReasonName(reason)) + ")";
  return s;
}

std::vector<DomainEvent> DiffDomains(const std::vector<DomainInfo>& before,
                                     const std::vector<DomainInfo>& after) {
  auto old = ById(before), now = ById(after);
  std::vector<DomainEvent> events;
  for (const auto& [domid, info] : now) {
    auto it = old.find(domid);
    DiffOne(it == old.end() ? nullptr : it->second, *info, events);
  }
  for (const auto& [domid, info] : old)
    if (!now.count(domid)) events.push_back({DomainEvent::Kind::kGone, domid});
  return events;
}

}  // namespace txend::toolstack
