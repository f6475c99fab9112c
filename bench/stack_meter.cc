#include "bench/stack_meter.h"

#include <sstream>

namespace txend::bench {
namespace {

std::map<std::string, uint64_t> ParseStats(const std::string& text) {
  std::map<std::string, uint64_t> stats;
  std::istringstream lines(text);
  std::string name;
  uint64_t value = 0;
  while (lines >> name >> value) stats[name] = value;
  return stats;
}

uint64_t Delta(const StackSample& after, const StackSample& before, const std::string& name) {
  auto a = after.xsd_stats.find(name), b = before.xsd_stats.find(name);
  if (a == after.xsd_stats.end() || b == before.xsd_stats.end()) return 0;
  return a->second - b->second;
}

}  // namespace

StackCost operator-(const StackSample& after, const StackSample& before) {
  StackCost c;
  c.seconds = std::chrono::duration<double>(after.when - before.when).count();
  c.transactions = Delta(after, before, "transactions_started");
  c.requests = Delta(after, before, "requests_total") - 1;  // the later sample's CONTROL stats
  c.implicit_transactions = Delta(after, before, "implicit_transactions");
  c.xsd_disk_bytes = Delta(after, before, "disk_bytes_written");
  c.xsd_write_bytes = after.xsd.write_bytes - before.xsd.write_bytes;
  c.xsd_wchar = after.xsd.wchar - before.xsd.wchar;
  c.xsd_cpu_seconds = after.xsd.cpu_seconds - before.xsd.cpu_seconds;
  c.txend_cpu_seconds = after.txend.cpu_seconds - before.txend.cpu_seconds;
  c.xsd_thread_cpu_seconds = after.xsd.thread_cpu_seconds - before.xsd.thread_cpu_seconds;
  c.txend_thread_cpu_seconds = after.txend.thread_cpu_seconds - before.txend.thread_cpu_seconds;
  c.txend_voluntary_switches = static_cast<int64_t>(after.txend.voluntary_switches) -
                               static_cast<int64_t>(before.txend.voluntary_switches);
  c.txend_involuntary_switches = static_cast<int64_t>(after.txend.involuntary_switches) -
                                 static_cast<int64_t>(before.txend.involuntary_switches);
  return c;
}

Result<std::unique_ptr<StackMeter>> StackMeter::Open(const std::string& xs_socket, pid_t xsd_pid,
                                                     pid_t txend_pid) {
  TXEND_ASSIGN_OR_RETURN(auto conn, xs::Connection::Open(xs_socket));
  return std::unique_ptr<StackMeter>(new StackMeter(std::move(conn), xsd_pid, txend_pid));
}

Result<StackSample> StackMeter::SampleStats() {
  StackSample s;
  TXEND_ASSIGN_OR_RETURN(std::string stats, conn_->Control({"stats"}));
  s.xsd_stats = ParseStats(stats);
  if (!s.xsd_stats.count("requests_total"))
    return Status::Error(EPROTO, "xsd stats without requests_total");
  s.when = std::chrono::steady_clock::now();
  return s;
}

Result<StackSample> StackMeter::Sample() {
  TXEND_ASSIGN_OR_RETURN(StackSample s, SampleStats());
  TXEND_ASSIGN_OR_RETURN(s.xsd, ReadProcessUsage(xsd_pid_));
  TXEND_ASSIGN_OR_RETURN(s.txend, ReadProcessUsage(txend_pid_));
  s.when = std::chrono::steady_clock::now();
  return s;
}

Result<StackSample> StackMeter::SampleProcesses() {
  StackSample s;
  TXEND_ASSIGN_OR_RETURN(s.xsd, ReadProcessUsage(xsd_pid_));
  TXEND_ASSIGN_OR_RETURN(s.txend, ReadProcessUsage(txend_pid_));
  s.when = std::chrono::steady_clock::now();
  return s;
}

}  // namespace txend::bench
