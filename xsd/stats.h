// Stats: exact counters of what xsd did, printed by `xenstore-control stats`.
// Tests and benchmarks use them to prove transaction and disk budgets.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "wire/wire.h"

namespace txend::xsd {

struct Stats {
  uint64_t requests_total = 0;
  std::array<uint64_t, wire::kTypeCount> requests_by_type{};
  uint64_t transactions_started = 0;
  uint64_t transactions_committed = 0;
  uint64_t transactions_conflicted = 0;
  uint64_t transactions_aborted = 0;
  uint64_t implicit_transactions = 0;  // write-class requests outside a transaction
  uint64_t watch_events = 0;
  uint64_t error_replies = 0;
  uint64_t disk_bytes_written = 0;
  uint64_t disk_syncs = 0;
  uint64_t journal_records = 0;
  uint64_t compactions = 0;
  uint64_t journal_write_errors = 0;  // failed writes and syncs of journal or snapshot
  uint64_t commits_refused = 0;       // commits answered ENOSPC/EIO: the journal refused them
  uint64_t connections_opened = 0;
  uint64_t connections_dropped = 0;   // closed by xsd for protocol errors or overflow
  uint64_t connections_refused = 0;   // a domain's connections past its quota
  uint64_t transactions_expired = 0;  // guests' transactions dropped at their deadline
  uint64_t requests_throttled = 0;    // times a domain ran out of its request rate
  uint64_t accept_pauses = 0;         // times accepting stopped for want of file descriptors
  uint64_t listeners_parked = 0;      // connected domains' sockets closed for want of descriptors
};

// Point-in-time sizes reported beside the counters.
struct Gauges {
  uint64_t nodes = 0;
  uint64_t connections = 0;
  uint64_t watches = 0;
  uint64_t open_transactions = 0;
  uint64_t domains_introduced = 0;
  uint64_t persistence_degraded = 0;  // 1 while the journal refuses commits
  uint64_t compacting = 0;            // 1 while a journal compaction runs on its thread
};

// "name value" lines, one per counter and gauge.
std::string FormatStats(const Stats& stats, const Gauges& gauges);

}  // namespace txend::xsd
