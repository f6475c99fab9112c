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
  uint64_t connections_opened = 0;
  uint64_t connections_dropped = 0;  // closed by xsd for protocol errors or overflow
};

// Point-in-time sizes reported beside the counters.
struct Gauges {
  uint64_t nodes = 0;
  uint64_t connections = 0;
  uint64_t watches = 0;
  uint64_t open_transactions = 0;
  uint64_t domains_introduced = 0;
};

// "name value" lines, one per counter and gauge.
std::string FormatStats(const Stats& stats, const Gauges& gauges);

}  // namespace txend::xsd
