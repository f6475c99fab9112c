// DomainQueries: what txend reports about domains and the host. Reads of
// xenstore run inside one Snapshot (one transaction, whatever they read);
// a list, and a read of one domain, read only the domains whose nodes changed
// since they were last read (DomainStateCache). Queries never take a domain's lock, so they run in
// parallel with each other and with lifecycle operations.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "toolstack/domain/domain_context.h"
#include "toolstack/domain/domain_record.h"
#include "toolstack/domain/domain_state_cache.h"

namespace txend::toolstack {

// A device class's frontend nodes, per device: what xm block-list shows.
struct DeviceDetail {
  uint32_t devid = 0;
  std::vector<std::pair<std::string, std::string>> nodes;
};

class DomainQueries {
 public:
  explicit DomainQueries(DomainContext& ctx) : ctx_(ctx) {}

  // Starts the list's cache (its watch on /local/domain); without it every list reads all.
  Status Start() { return cache_.Start(ctx_.xs); }
  // Domain-0 first, then running domains by domid, then inactive managed ones
  // by name. At most one snapshot: none when no domain's nodes changed.
  Result<std::vector<DomainRecord>> List();
  // `ref`: a name, domid or uuid. From the cache when the domain's nodes did
  // not change, else read in one snapshot of its own.
  // Shows every xenstore write acknowledged (to any client) before the call.
  Result<DomainRecord> Get(std::string_view ref);
  // Whether Get(ref) would now ask xenstore nothing: the ref names no domain, Domain-0 or
  // one not running, or one cached and unchanged. A hint: a write may land meanwhile.
  bool GetIsAtHand(std::string_view ref) const;
  // Get without xenstore: the registry and the hypervisor only (no memory
  // target, device states not read). What names a domain for an operation.
  Result<DomainRecord> Resolve(std::string_view ref);
  Result<NodeRecord> Node();
  Result<std::string> Dmesg(bool clear);
  Result<std::vector<DeviceDetail>> DeviceDetails(xs::ReadContext& snapshot, std::string_view ref,
                                                  std::string_view type);
  Result<std::vector<VcpuInfo>> Vcpus(std::string_view ref);
  // The host's assignable PCI functions that no running domain holds (xend's pciinfo).
  std::vector<PciDevice> AssignablePci();

 private:
  Result<DomainRecord> RecordOf(const ResolvedRef& resolved);

  DomainContext& ctx_;
  DomainStateCache cache_;
};

}  // namespace txend::toolstack
