// DomainEvent: what changed about a domain between two ListDomains() results —
// what a toolstack looks for after @releaseDomain or VIRQ_DOM_EXC fires.
#pragma once

#include <string>
#include <vector>

#include "toolstack/hypervisor/domain_info.h"

namespace txend::toolstack {

struct DomainEvent {
  enum class Kind {
    kAppeared,  // new domain
    kShutdown,  // entered shutdown (reason set)
    kCrashed,   // entered crashed
    kResumed,   // left shutdown/crashed without dying (Resume)
    kDying,     // became dying (destroyed, resources still held)
    kGone,      // no longer listed
  };
  Kind kind;
  DomId domid = 0;
  ShutdownReason reason = ShutdownReason::kPoweroff;  // kShutdown, kCrashed

  std::string ToString() const;  // "domain 3 shutdown (reboot)"
  bool operator==(const DomainEvent&) const = default;
};

// Events that turn `before` into `after`, by domid. Both lists may be in any order.
std::vector<DomainEvent> DiffDomains(const std::vector<DomainInfo>& before,
                                     const std::vector<DomainInfo>& after);

}  // namespace txend::toolstack
