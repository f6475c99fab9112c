// xm's output formats, byte for byte (Xen 4.4 tools/python/xen/xm/main.py),
// as pure functions of the SXP txend returns, and xm's argument syntaxes.
#pragma once

#include <cstdint>
#include <ctime>
#include <string>
#include <vector>

#include "base/result.h"
#include "sxp/sxp.h"
#include "sxp/tape.h"

namespace txend::xm {

// The fields of a (domain ...) SXP that xm's tables show.
struct DomainRow {
  std::string name;
  std::string domid;  // "" when inactive
  int64_t memory_mib = 0;
  int64_t vcpus = 0;
  std::string state;
  double cpu_time = 0;
  double start_time = 0;
  int64_t cpu_weight = -1;
  int64_t cpu_cap = -1;
};
DomainRow ParseDomainRow(const sxp::Value& domain);
// The same row read in place from node `domain` of a parsed reply.
DomainRow ParseDomainRow(const sxp::Tape& tape, sxp::Tape::Index domain);

// `xm list`: the header and one row per domain, in the given order.
std::string FormatDomainList(const std::vector<DomainRow>& rows);
// `xm list -l`: each domain pretty-printed without its top-level vcpu_avail.
std::string FormatDomainLong(const sxp::Value& domain);

// `xm vcpu-list` rows for one domain's (domain ... (vcpu ...)...) vcpuinfo SXP;
// `nr_cpus` from the node decides "any cpu". Header separately.
std::string VcpuListHeader();
std::string FormatVcpuRows(const DomainRow& row, const sxp::Value& vcpuinfo, int nr_cpus);
// "0-3,6", "any cpu" (all of 0..nr_cpus-1), or "no cpus".
std::string FormatCpuAffinity(std::vector<int> cpus, int nr_cpus);

// `xm uptime`: `now` and `host_uptime` (dom0's /proc/uptime) are explicit inputs.
std::string FormatUptime(const std::vector<DomainRow>& rows, bool short_form, time_t now,
                         double host_uptime);

// `xm info`: "%-23s: value" per node field, without `system`; NUMA fields only with `numa`.
std::string FormatNodeInfo(const sxp::Value& node, bool numa);

// `xm block-list` / `xm network-list` of an op=devices reply ((devid ((k v) ...)) ...).
std::string FormatBlockList(const sxp::Value& devices);
std::string FormatNetworkList(const sxp::Value& devices);

// `xm sched-credit` listing.
std::string FormatSchedCredit(const std::vector<DomainRow>& rows);

// `xm domstate`: one word from a state string such as "-b----" (xm's quirks kept).
std::string DomainStateWord(const std::string& state);

// xm's int_unit: "512", "512m", "524288k", "1g" -> MiB. EINVAL otherwise.
Result<int64_t> ParseMemoryMib(const std::string& text);
// xm's vcpu-pin cpu list: "0-3,^1" -> "0,2,3"; "all" -> "0,...,63".
Result<std::string> ParseCpuList(const std::string& text);

}  // namespace txend::xm
