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

// Per-commit times in microseconds.
struct CommitTimes {
  size_t commits = 0;
  double median_us = 0;
  double p99_us = 0;
};

struct CommitCost {
  size_t nodes = 0;          // nodes in the store
  double build_seconds = 0;  // time to fill the store (through the same handler)
  // Each commit to another domain's node (or another entry of the large
  // directory) in turn: the path is cold in the CPU's caches, as on a busy host.
  CommitTimes cycling;
  // Every commit to the same node: the path stays cached, so what is left is
  // the work the store does (lookups, copies) without memory stalls.
  CommitTimes repeated;
};

// Fills a fresh in-memory store of `shape`, then commits one-node writes for
// `seconds`: half cycling over the nodes, half to one node.
CommitCost MeasureCommitCost(const StoreShape& shape, double seconds);

}  // namespace txend::bench
