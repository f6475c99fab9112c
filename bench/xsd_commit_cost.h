// The cost of a one-node commit (TRANSACTION_START, WRITE, TRANSACTION_END)
// as xsd's request handler pays it in process — the time its single thread is
// busy and every other client waits — in stores of different sizes and shapes.
#pragma once

#include <cstddef>
#include <string>

namespace txend::bench {

// A store to measure in: `domains` homes of about 100 nodes under
// /local/domain, plus one directory of `flat_entries` children.
struct StoreShape {
  std::string name;
  size_t domains = 0;
  size_t flat_entries = 0;
};

// Per-commit times in microseconds over the measured commits.
struct CommitCost {
  size_t nodes = 0;  // nodes in the store
  size_t commits = 0;
  double median_us = 0;
  double p99_us = 0;
  double build_seconds = 0;  // time to fill the store (through the same handler)
};

// Fills a fresh in-memory store of `shape`, then commits one-node writes for
// `seconds`, cycling over the domains' nodes (or the flat directory's entries).
CommitCost MeasureCommitCost(const StoreShape& shape, double seconds);

}  // namespace txend::bench
