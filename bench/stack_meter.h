// StackMeter: samples what a running xsd + txend pair has done so far — xsd's
// own `stats` counters and the kernel's accounting of both processes — so a
// scenario step's cost is the difference of two samples.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <sys/types.h>

#include "base/result.h"
#include "bench/process_usage.h"
#include "toolstack/xs/connection.h"

namespace txend::bench {

struct StackSample {
  std::chrono::steady_clock::time_point when;
  std::map<std::string, uint64_t> xsd_stats;  // CONTROL stats, name -> value
  ProcessUsage xsd;
  ProcessUsage txend;
};

// What happened between two samples. The later sample's own stats request is
// not counted.
struct StackCost {
  double seconds = 0;
  uint64_t transactions = 0;           // xsd transactions_started
  uint64_t requests = 0;               // xsd requests_total, from every client
  uint64_t implicit_transactions = 0;  // writes outside a transaction
  uint64_t xsd_disk_bytes = 0;         // xsd disk_bytes_written (its journal)
  uint64_t xsd_write_bytes = 0;        // /proc/<xsd>/io write_bytes
  uint64_t xsd_wchar = 0;              // /proc/<xsd>/io wchar (includes socket writes)
  double xsd_cpu_seconds = 0;
  double txend_cpu_seconds = 0;
  // The same to the nanosecond, live threads only (ProcessUsage::thread_cpu_seconds).
  double xsd_thread_cpu_seconds = 0;
  double txend_thread_cpu_seconds = 0;
  int64_t txend_voluntary_switches = 0;  // over txend's threads alive at both samples' time
  int64_t txend_involuntary_switches = 0;
};

StackCost operator-(const StackSample& after, const StackSample& before);

class StackMeter {
 public:
  static Result<std::unique_ptr<StackMeter>> Open(const std::string& xs_socket, pid_t xsd_pid,
                                                  pid_t txend_pid);
  Result<StackSample> Sample();
  // Only the two processes' usage (xsd_stats left empty): xsd's CONTROL stats walks
  // its watches and connections, which a window that should see only idle costs must
  // not contain.
  Result<StackSample> SampleProcesses();
  // Only xsd's counters (the processes' usage left zero): reading every thread's /proc
  // files costs the meter milliseconds at thousands of domains, each holding threads.
  Result<StackSample> SampleStats();

 private:
  StackMeter(std::unique_ptr<xs::Connection> conn, pid_t xsd, pid_t txend)
      : conn_(std::move(conn)), xsd_pid_(xsd), txend_pid_(txend) {}
  std::unique_ptr<xs::Connection> conn_;
  pid_t xsd_pid_;
  pid_t txend_pid_;
};

}  // namespace txend::bench
