// xm's read-only commands: list, info, vcpu-list, uptime, domid, domname,
// domstate, dmesg, log, sched-credit, block-list, network-list.
#include <algorithm>
#include <cerrno>
#include <ctime>
#include <fstream>
#include <ostream>

#include "base/numbers.h"
#include "cli/xm_commands.h"
#include "cli/xm_format.h"

namespace txend::xm {
namespace {

using Args = std::vector<std::string>;
constexpr size_t kMany = 1 << 20;

Result<std::vector<sxp::Value>> SortedDomains(Xend& xend, const std::string& state) {
  TXEND_ASSIGN_OR_RETURN(auto all, xend.Domains(state));
  std::vector<std::pair<std::string, size_t>> names;  // each name looked up once
  names.reserve(all.size());
  for (size_t i = 0; i < all.size(); ++i) names.emplace_back(sxp::ChildValue(all[i], "name"), i);
  std::sort(names.begin(), names.end());  // by name, then list order: stable
  std::vector<sxp::Value> sorted;
  sorted.reserve(all.size());
  for (const auto& n : names) sorted.push_back(std::move(all[n.second]));
  return sorted;
}

// The named domains in argument order, or (no names) every domain by name.
Result<std::vector<sxp::Value>> ChosenDomains(Xend& xend, const Args& names,
                                              const std::string& state = "all") {
  if (names.empty()) return SortedDomains(xend, state);
  std::vector<sxp::Value> out;
  for (const auto& n : names) {
    TXEND_ASSIGN_OR_RETURN(auto d, xend.Domain(n));
    out.push_back(std::move(d));
  }
  return out;
}

// `xm list`'s rows of every domain in `state` (and `pool` unless ""), by name,
// read in place off the reply: a thousand domains are ~140 000 atoms and lists,
// too many to make a Value of each just to read nine fields per domain.
Result<std::vector<DomainRow>> ListedRows(Xend& xend, const std::string& state,
                                          const std::string& pool) {
  TXEND_ASSIGN_OR_RETURN(std::string text, xend.DomainsText(state));
  std::vector<DomainRow> rows;
  if (text.empty()) return rows;
  auto tape = sxp::Tape::ParseOne(text);
  if (!tape.ok() || !tape->is_list(0))
    return Status::Error(EREMOTEIO, "xend sent a domain list that is not a list");
  rows.reserve(tape->size(0));
  for (sxp::Tape::Index d = 1; d < tape->next(0); d = tape->next(d)) {
    if (!pool.empty() && tape->FindChildValue(d, "pool_name").value_or("Pool-0") != pool) continue;
    rows.push_back(ParseDomainRow(*tape, d));
  }
  std::stable_sort(rows.begin(), rows.end(),
                   [](const DomainRow& a, const DomainRow& b) { return a.name < b.name; });
  return rows;
}

std::vector<DomainRow> Rows(const std::vector<sxp::Value>& domains) {
  std::vector<DomainRow> rows;
  for (const auto& d : domains) rows.push_back(ParseDomainRow(d));
  return rows;
}

double HostUptime() {
  std::ifstream in("/proc/uptime");
  double up = 0;
  in >> up;
  return up;
}

Status DeviceList(XmContext& ctx, CommandLine& cl, const Args& argv, const char* type) {
  bool long_form = false;
  cl.app().add_flag("-l,--long", long_form, "List in SXP format");
  TXEND_RETURN_IF_ERROR(cl.Parse(argv, 0, kMany));
  if (cl.args().empty()) return Status::Error(EINVAL, "No domain parameter given");
  if (cl.args().size() > 1) return Status::Error(EINVAL, "No multiple domain parameters allowed");
  TXEND_ASSIGN_OR_RETURN(auto devices,
                         ctx.xend.PostDomain(cl.args()[0], {{"op", "devices"}, {"type", type}}));
  if (long_form) {
    if (devices.is_list())
      for (const auto& d : devices.items()) ctx.out << sxp::PrettyPrint(d);
    return Status::Ok();
  }
  ctx.out << (std::string(type) == "vbd" ? FormatBlockList(devices) : FormatNetworkList(devices));
  return Status::Ok();
}

}  // namespace

Status XmList(XmContext& ctx, CommandLine& cl, const Args& argv) {
  bool long_form = false;
  std::string state, pool;
  cl.app().add_flag("-l,--long", long_form, "Output all VM details in SXP");
  cl.app().add_option("--state", state, "Select only VMs with the specified state");
  cl.app().add_option("--pool", pool, "Select only VMs in specified cpu pool");
  TXEND_RETURN_IF_ERROR(cl.Parse(argv, 0, kMany));
  if (!state.empty() && !cl.args().empty())
    return Status::Error(EINVAL, "You may specify either a state or a particular VM, but not both");
  if (!pool.empty() && !cl.args().empty())
    return Status::Error(EINVAL, "You may specify either a pool or a particular VM, but not both");
  if (!long_form && cl.args().empty()) {
    TXEND_ASSIGN_OR_RETURN(auto rows, ListedRows(ctx.xend, state.empty() ? "all" : state, pool));
    ctx.out << FormatDomainList(rows);
    return Status::Ok();
  }
  TXEND_ASSIGN_OR_RETURN(auto domains,
                         ChosenDomains(ctx.xend, cl.args(), state.empty() ? "all" : state));
  if (!pool.empty())
    std::erase_if(domains, [&](const sxp::Value& d) {
      return sxp::ChildValue(d, "pool_name", "Pool-0") != pool;
    });
  if (long_form) {
    for (const auto& d : domains) ctx.out << FormatDomainLong(d);
  } else {
    ctx.out << FormatDomainList(Rows(domains));
  }
  return Status::Ok();
}

Status XmInfo(XmContext& ctx, CommandLine& cl, const Args& argv) {
  bool config = false, numa = false;
  cl.app().add_flag("-c,--config", config, "List Xend configuration parameters");
  cl.app().add_flag("-n,--numa", numa, "List host NUMA topology information");
  TXEND_RETURN_IF_ERROR(cl.Parse(argv, 0, 0));
  if (config) {
    char row[128];
    std::snprintf(row, sizeof row, "%-38s: %s\n", "xend-unix-path", ctx.xend_endpoint.c_str());
    ctx.out << row;
    return Status::Ok();
  }
  TXEND_ASSIGN_OR_RETURN(auto node, ctx.xend.Node());
  ctx.out << FormatNodeInfo(node, numa);
  return Status::Ok();
}

Status XmVcpuList(XmContext& ctx, CommandLine& cl, const Args& argv) {
  TXEND_RETURN_IF_ERROR(cl.Parse(argv, 0, kMany));
  TXEND_ASSIGN_OR_RETURN(auto domains, ChosenDomains(ctx.xend, cl.args()));
  TXEND_ASSIGN_OR_RETURN(auto node, ctx.xend.Node());
  int nr_cpus = std::max(1, ParseInteger<int>(sxp::ChildValue(node, "nr_cpus", "1")).value_or(0));
  std::string out = VcpuListHeader();
  for (const auto& d : domains) {
    DomainRow row = ParseDomainRow(d);
    sxp::Value info;
    if (row.domid.empty()) {  // inactive: its configured vcpus, nowhere
      info = sxp::Value::List({"domain"});
      for (int64_t v = 0; v < row.vcpus; ++v)
        info.Add(sxp::Value::List({"vcpu", sxp::Value::List({"number", sxp::Value::Int(v)})}));
    } else {
      TXEND_ASSIGN_OR_RETURN(info, ctx.xend.VcpuInfo(row.domid));
    }
    out += FormatVcpuRows(row, info, nr_cpus);
  }
  ctx.out << out;
  return Status::Ok();
}

Status XmUptime(XmContext& ctx, CommandLine& cl, const Args& argv) {
  bool short_form = false;
  cl.app().add_flag("-s,--short", short_form, "Short form");
  TXEND_RETURN_IF_ERROR(cl.Parse(argv, 0, kMany));
  TXEND_ASSIGN_OR_RETURN(auto domains, ChosenDomains(ctx.xend, cl.args()));
  ctx.out << FormatUptime(Rows(domains), short_form, std::time(nullptr), HostUptime());
  return Status::Ok();
}

Status XmDomid(XmContext& ctx, CommandLine& cl, const Args& argv) {
  TXEND_RETURN_IF_ERROR(cl.Parse(argv, 1, 1));
  TXEND_ASSIGN_OR_RETURN(auto d, ctx.xend.Domain(cl.args()[0]));
  ctx.out << sxp::ChildValue(d, "domid", "None") << "\n";
  return Status::Ok();
}

Status XmDomname(XmContext& ctx, CommandLine& cl, const Args& argv) {
  TXEND_RETURN_IF_ERROR(cl.Parse(argv, 1, 1));
  TXEND_ASSIGN_OR_RETURN(auto d, ctx.xend.Domain(cl.args()[0]));
  ctx.out << sxp::ChildValue(d, "name") << "\n";
  return Status::Ok();
}

Status XmDomstate(XmContext& ctx, CommandLine& cl, const Args& argv) {
  TXEND_RETURN_IF_ERROR(cl.Parse(argv, 1, 1));
  TXEND_ASSIGN_OR_RETURN(auto d, ctx.xend.Domain(cl.args()[0]));
  std::string word = DomainStateWord(sxp::ChildValue(d, "state"));
  if (!word.empty()) ctx.out << word << "\n";
  return Status::Ok();
}

Status XmDmesg(XmContext& ctx, CommandLine& cl, const Args& argv) {
  bool clear = false;
  cl.app().add_flag("-c,--clear", clear, "Clear dmesg buffer as well as printing it");
  TXEND_RETURN_IF_ERROR(cl.Parse(argv, 0, kMany));
  if (!cl.args().empty()) return Status::Error(EINVAL, "No parameter required");
  TXEND_ASSIGN_OR_RETURN(auto text, ctx.xend.NodeText("dmesg"));
  ctx.out << text;
  return clear ? ctx.xend.ClearDmesg() : Status::Ok();
}

Status XmLog(XmContext& ctx, CommandLine& cl, const Args& argv) {
  TXEND_RETURN_IF_ERROR(cl.Parse(argv, 0, 0));
  TXEND_ASSIGN_OR_RETURN(auto text, ctx.xend.NodeText("log"));
  ctx.out << text << "\n";
  return Status::Ok();
}

Status XmSchedCredit(XmContext& ctx, CommandLine& cl, const Args& argv) {
  std::string domain;
  std::optional<int64_t> weight, cap;
  cl.app().add_option("-d,--domain", domain, "Domain to modify");
  cl.app().add_option("-w,--weight", weight, "Weight (int)");
  cl.app().add_option("-c,--cap", cap, "Cap (int)");
  TXEND_RETURN_IF_ERROR(cl.Parse(argv, 0, 0));
  TXEND_ASSIGN_OR_RETURN(auto node, ctx.xend.Node());
  std::string sched = sxp::ChildValue(node, "xen_scheduler", "credit");
  if (sched != "credit")
    return Status::Error(EREMOTEIO, "Xen is running with the " + sched + " scheduler");
  if (weight || cap) {
    if (domain.empty()) return Status::Error(EINVAL, "No domain given.");
    Form form = {{"op", "domain_sched_credit_set"}};
    if (weight) form.emplace_back("weight", std::to_string(*weight));
    if (cap) form.emplace_back("cap", std::to_string(*cap));
    return ctx.xend.PostDomain(domain, form).status();
  }
  TXEND_ASSIGN_OR_RETURN(auto domains, SortedDomains(ctx.xend, "all"));
  auto rows = Rows(domains);
  if (!domain.empty()) {
    std::erase_if(rows, [&](const DomainRow& r) { return r.name != domain && r.domid != domain; });
    if (rows.empty()) return Status::Error(EREMOTEIO, "Domain '" + domain + "' does not exist.");
  }
  ctx.out << FormatSchedCredit(rows);
  return Status::Ok();
}

Status XmBlockList(XmContext& ctx, CommandLine& cl, const Args& argv) {
  return DeviceList(ctx, cl, argv, "vbd");
}

Status XmNetworkList(XmContext& ctx, CommandLine& cl, const Args& argv) {
  return DeviceList(ctx, cl, argv, "vif");
}

}  // namespace txend::xm
