// SeedScenario: the monitoring workload txend was built for, on one fresh
// xsd (persistent) + txend (simulated hypervisor) stack: create N domains
// with 2 disks and 1 vif the way `xm create` does, then read every domain
// with GET /xend/domain/<name>?detail=1 once per interval, and measure what
// each step cost xenstore, the disk, the CPU and memory.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "bench/cpu_figure.h"
#include "bench/idle_monitors.h"
#include "bench/stack_meter.h"

namespace txend::bench {

struct ScenarioOptions {
  int domains = 20;
  int rounds = 10;          // polls of every domain
  double interval_s = 1.0;  // between the starts of two rounds; 0: back to back
  int domain_memory_mib = 16;
  int repeats = 9;          // runs of GET-all and `xm list`
  int detail_reads = 4000;  // back-to-back reads of one domain (its CPU per read)
  std::string xm_program;   // empty or missing: `xm list` is not measured
  // Another xm (e.g. main's, which polls every 250 ms) whose `xm shutdown -w`
  // is timed beside xm_program's in the same run; empty: none.
  std::string baseline_xm;
  bool hold = false;               // keep the stack up, for inspection, until a line on stdin
  std::vector<int> idle_monitors;  // N clients parked in GET /xend/events, one window each
  double idle_seconds = 5;         // the window
};

// Mean and worst cost of one `xm create` (create, wait_for_devices, unpause).
struct CreateFigures {
  double transactions = 0;
  uint64_t max_transactions = 0;
  double requests = 0;
  double seconds = 0;  // mean wall time per create
};

struct PollFigures {
  uint64_t reads = 0;
  StackCost cost;  // the whole polling window (its CPU without the meter's stats requests)
  // The same stack just before, quiet in xenstore, in a window as long (5 s at most)
  // with no reads: what it spends idle, e.g. simulated guests still settling.
  StackCost idle;
  double median_read_ms = 0;
  double max_round_s = 0;  // slowest round (all N reads)
};

// Repeated runs of one request or command: per-run cost and median time.
struct RepeatFigures {
  double transactions = 0;
  double requests = 0;
  double median_ms = 0;
  double min_ms = 0;
  size_t reply_bytes = 0;
};

// One domain's detail read, back to back (a new connection each, as libvirt):
// the CPU it costs xsd and txend and its time, independent of the polling rate.
struct DetailReadFigures {
  int reads = 0;
  CpuFigure cpu;                 // xsd + txend CPU per read (their live threads, to the ns),
                                 // median (min, max) of the batches
  double tick_cpu_us = 0;        // all batches, from /proc/<pid>/stat's 10 ms ticks (a check)
  double txend_cpu_us = 0;       // txend's part, the median of the batches' parts
  double txend_voluntary = 0;    // txend's context switches per read: its threads blocking
  double txend_involuntary = 0;  // ... and being preempted
  double median_ms = 0;
};

struct MemoryFigures {
  uint64_t xsd_rss = 0, txend_rss = 0;              // with N domains
  uint64_t xsd_rss_empty = 0, txend_rss_empty = 0;  // before the first create
};

struct ScenarioFigures {
  ScenarioOptions options;
  CreateFigures create;
  PollFigures poll;
  DetailReadFigures detail;
  RepeatFigures get_all;
  std::optional<RepeatFigures> xm_list;  // unset when xm is not built
  // `xm shutdown -w` of one more domain (created with `xm create` before each run).
  std::optional<RepeatFigures> xm_shutdown_wait;
  std::optional<RepeatFigures> baseline_shutdown_wait;  // the same with options.baseline_xm
  MemoryFigures memory;
  std::vector<IdleFigures> idle;  // one per options.idle_monitors
};

Result<ScenarioFigures> RunSeedScenario(const ScenarioOptions& options);

}  // namespace txend::bench
