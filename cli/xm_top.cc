#include "cli/xm_top.h"

#include <cstdio>

#include "base/numbers.h"
#include "cli/xm_format.h"

namespace txend::xm {
namespace {

template <typename... A>
std::string Fmt(const char* format, A... args) {
  char buf[512];
  std::snprintf(buf, sizeof buf, format, args...);
  return buf;
}

int64_t Int(const sxp::Value& v, std::string_view name) {
  return ParseInteger<int64_t>(sxp::ChildValue(v, name, "0")).value_or(0);
}

// Devices of `kinds` among the domain's (device (<kind> ...)) children.
int CountDevices(const sxp::Value& domain, std::initializer_list<std::string_view> kinds) {
  int n = 0;
  for (const sxp::Value* device : sxp::Children(domain, "device")) {
    const sxp::Value* inner = sxp::ChildAt(*device, 0);
    if (!inner) continue;
    for (auto kind : kinds) n += sxp::Name(*inner) == kind;
  }
  return n;
}

std::string Counter(const std::optional<uint64_t>& v, uint64_t divisor, int width) {
  if (!v) return Fmt("%*s", width, "n/a");
  return Fmt("%*llu", width, static_cast<unsigned long long>(*v / divisor));
}

double Percent(double part, double whole) { return whole > 0 ? 100.0 * part / whole : 0.0; }

// "N domains: a running, b blocked, c paused, d crashed, e dying, f shutdown", counted from
// the six state letters (r b p s c d).
std::string StateSummary(const std::vector<DomainRow>& rows) {
  int count[6] = {};
  for (const auto& r : rows)
    for (size_t i = 0; i < 6 && i < r.state.size(); ++i) count[i] += r.state[i] != '-';
  return Fmt("%zu domains: %d running, %d blocked, %d paused, %d crashed, %d dying, %d shutdown\n",
             rows.size(), count[0], count[1], count[2], count[4], count[5], count[3]);
}

std::string Header(const TopSample& s, const std::vector<DomainRow>& rows) {
  char clock[16];
  struct tm tm {};
  localtime_r(&s.wall, &tm);
  std::strftime(clock, sizeof clock, "%H:%M:%S", &tm);
  int64_t total_k = Int(s.node, "total_memory") * 1024, free_k = Int(s.node, "free_memory") * 1024;
  return Fmt("xm top - %s   Xen %s.%s%s\n", clock, sxp::ChildValue(s.node, "xen_major").c_str(),
             sxp::ChildValue(s.node, "xen_minor").c_str(),
             sxp::ChildValue(s.node, "xen_extra").c_str()) +
         StateSummary(rows) +
         Fmt("Mem: %lldk total, %lldk used, %lldk free    CPUs: %lld @ %lldMHz\n",
             static_cast<long long>(total_k), static_cast<long long>(total_k - free_k),
             static_cast<long long>(free_k), static_cast<long long>(Int(s.node, "nr_cpus")),
             static_cast<long long>(Int(s.node, "cpu_mhz")));
}

constexpr char kColumns[] =
    "      NAME  STATE   CPU(sec) CPU(%%)     MEM(k) MEM(%%)  MAXMEM(k) MAXMEM(%%) VCPUS NETS "
    "NETTX(k) NETRX(k) VBDS   VBD_RD   VBD_WR\n";

std::string Row(const sxp::Value& d, const DomainRow& r, double cpu_percent, int64_t total_k,
                const DomainIo& io) {
  int64_t mem_k = r.memory_mib * 1024, maxmem_k = Int(d, "maxmem") * 1024;
  return Fmt("%10.10s %6.6s %10.0f %6.1f %10lld %6.1f %10lld %9.1f %5lld %4d %8s %8s %4d %8s %8s\n",
             r.name.c_str(), r.state.c_str(), r.cpu_time, cpu_percent,
             static_cast<long long>(mem_k), Percent(static_cast<double>(mem_k), total_k),
             static_cast<long long>(maxmem_k), Percent(static_cast<double>(maxmem_k), total_k),
             static_cast<long long>(r.vcpus), CountDevices(d, {"vif"}),
             Counter(io.net_tx_bytes, 1024, 8).c_str(), Counter(io.net_rx_bytes, 1024, 8).c_str(),
             CountDevices(d, {"vbd", "tap", "tap2"}), Counter(io.vbd_reads, 1, 8).c_str(),
             Counter(io.vbd_writes, 1, 8).c_str());
}

// CPU seconds `before` recorded for the domain with `domid`, if it held it.
std::optional<double> CpuBefore(const TopSample* before, const std::string& domid) {
  if (!before) return std::nullopt;
  for (const auto& d : before->domains)
    if (sxp::ChildValue(d, "domid") == domid) return ParseDomainRow(d).cpu_time;
  return std::nullopt;
}

}  // namespace

std::string FormatTop(const TopSample& now, const TopSample* before) {
  std::vector<DomainRow> rows;
  for (const auto& d : now.domains) rows.push_back(ParseDomainRow(d));
  std::string out = Header(now, rows) + Fmt(kColumns);
  int64_t total_k = Int(now.node, "total_memory") * 1024;
  double elapsed = before ? now.monotonic_s - before->monotonic_s : 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    auto cpu_before = CpuBefore(before, rows[i].domid);
    double used = cpu_before ? rows[i].cpu_time - *cpu_before : 0;
    auto io = now.io.find(rows[i].domid);
    out += Row(now.domains[i], rows[i], elapsed > 0 ? Percent(used, elapsed) : 0.0, total_k,
               io == now.io.end() ? DomainIo{} : io->second);
  }
  return out;
}

}  // namespace txend::xm
