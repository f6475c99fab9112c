// DomainStateCache: what a list last read from xenstore for each running
// domain (memory target, VNC location, device states), kept until a watch on
// /local/domain reports a write under that domain's nodes (its own tree or
// dom0's backends for it), so a list of N unchanged domains reads nothing. The
// watch's events are marked by whichever thread reads the connection, before
// it hands over any later reply, so after CatchUp's round trip every write
// acknowledged before it is marked. With xsd's write generation the round trip
// is skipped while nothing was written since the last one began.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "base/mutex.h"
#include "toolstack/domain/domain_record.h"
#include "toolstack/xs/connection.h"

namespace txend::toolstack {

class DomainStateCache {
 public:
  // Starts watching; until then (or once the connection is lost) nothing is cached.
  Status Start(xs::Connection& xs) LOCKS_EXCLUDED(mu_);
  // Returns once every watch event for a write acknowledged (to any client) before
  // the call has been marked here: one round trip on the watch's connection, none
  // when the daemon's write generation is the one read before the last began.
  Status CatchUp() LOCKS_EXCLUDED(mu_);
  // Whether CatchUp would return at once (nothing written since the last round trip began)
  // and `d`'s entry is unchanged since it was read: Fill then succeeds without xenstore,
  // unless a write lands meanwhile or its devices were counted differently. A hint.
  bool HoldsClean(const RegisteredDomain& d) const LOCKS_EXCLUDED(mu_);
  // Where the watch stands now: take it before the snapshot whose reads are Stored.
  uint64_t Epoch() const LOCKS_EXCLUDED(mu_);
  // Fills `r`'s xenstore fields from the cache; false when they must be read.
  bool Fill(DomainRecord& r, const RegisteredDomain& d) const LOCKS_EXCLUDED(mu_);
  // Keeps what was read for `r` in a snapshot begun after Epoch() returned `epoch`.
  void Store(const DomainRecord& r, const RegisteredDomain& d, uint64_t epoch) LOCKS_EXCLUDED(mu_);
  // Forgets the domains not in `domids` (sorted).
  void Keep(const std::vector<uint32_t>& domids) LOCKS_EXCLUDED(mu_);

 private:
  struct Entry {
    std::shared_ptr<const RegisteredConfig> config;  // the config it was read for
    uint64_t read_at = 0;                            // the epoch before its snapshot
    uint64_t memory_target_kib = 0;
    std::string vnc_location;
    std::string console_tty;
    std::vector<std::pair<XenbusState, XenbusState>> states;  // backend, frontend per device
  };
  void Changed(const std::string& path) LOCKS_EXCLUDED(mu_);
  bool CleanLocked(uint32_t domid, const Entry& e) const EXCLUSIVE_LOCKS_REQUIRED(mu_);

  xs::Connection* xs_ = nullptr;
  // The write generation read before the latest completed round trip began (0: none).
  std::atomic<uint64_t> caught_up_{0};
  mutable Mutex mu_;
  uint64_t epoch_ GUARDED_BY(mu_) = 0;        // watch events seen
  uint64_t all_changed_ GUARDED_BY(mu_) = 0;  // an event naming no one domain
  bool watching_ GUARDED_BY(mu_) = false;
  std::unordered_map<uint32_t, uint64_t> changed_ GUARDED_BY(mu_);  // domid -> last event
  std::unordered_map<uint32_t, Entry> entries_ GUARDED_BY(mu_);
  std::optional<xs::Watch> watch_;  // last: unwatched before the rest goes
};

}  // namespace txend::toolstack
