#include "txend/xend_sxp.h"

#include <cstdio>
#include <sys/utsname.h>

#include "toolstack/domain/domain_sxp.h"

namespace txend::daemon {
namespace {

using sxp::Value;
using toolstack::DomainRecord;

Value Pair(const std::string& name, const std::string& value) { return Value::List({name, value}); }
Value Pair(const std::string& name, uint64_t v) { return Pair(name, std::to_string(v)); }

}  // namespace

HostFacts HostFacts::Read() {
  utsname u{};
  uname(&u);
  return {u.sysname, u.nodename, u.release, u.version, u.machine};
}

Value SchedCreditSxp(const toolstack::SchedCredit& credit) {
  Value v;
  v.Add(Pair("weight", credit.weight)).Add(Pair("cap", credit.cap));
  return v;
}

Value EventsSxp(const toolstack::DomainEventBatch& batch) {
  Value out = Value::List({"events"});
  out.Add(Pair("next", batch.next)).Add(Pair("lost", batch.lost ? 1 : 0));
  for (const auto& e : batch.events) {
    Value event = Value::List({"event"});
    event.Add(Pair("seq", e.seq)).Add(Pair("change", e.change)).Add(Pair("name", e.name));
    event.Add(Pair("uuid", e.uuid));
    if (e.domid) event.Add(Pair("domid", *e.domid));
    out.Add(std::move(event));
  }
  return out;
}

Value DeviceDetailsSxp(const std::vector<toolstack::DeviceDetail>& details) {
  Value out;
  for (const auto& d : details) {
    Value nodes;
    for (const auto& [k, v] : d.nodes) nodes.Add(Value::List({k, v}));
    out.Add(Value::List({std::to_string(d.devid), nodes}));
  }
  return out;
}

Value NodeSxp(const toolstack::NodeRecord& n, const HostFacts& h) {
  const auto& p = n.phys;
  const auto& v = n.version;
  uint32_t threads = std::max<uint32_t>(p.threads_per_core, 1),
           cores = std::max<uint32_t>(p.cores_per_socket, 1);
  std::string topology = "\ncpu:    core    socket     node";
  for (uint32_t cpu = 0; cpu < p.nr_cpus; ++cpu) {
    char line[64];
    snprintf(line, sizeof line, "\n%3u:%8u %8u %8u", cpu, (cpu / threads) % cores,
             cpu / (cores * threads), 0u);
    topology += line;
  }
  uint32_t nodes = std::max<uint32_t>(p.nr_nodes, 1);
  Value node = Value::List({"node"});
  node.Add(Pair("system", h.system)).Add(Pair("host", h.host)).Add(Pair("release", h.release));
  node.Add(Pair("version", h.version))
      .Add(Pair("machine", h.machine))
      .Add(Pair("nr_cpus", p.nr_cpus));
  node.Add(Pair("nr_nodes", nodes))
      .Add(Pair("sockets_per_node", std::max<uint32_t>(p.sockets / nodes, 1)));
  node.Add(Pair("cores_per_socket", cores)).Add(Pair("threads_per_core", threads));
  node.Add(Pair("cpu_mhz", p.cpu_khz / 1000)).Add(Pair("hw_caps", p.HwCapsString()));
  node.Add(Pair("virt_caps", p.hvm ? "hvm" : ""));
  node.Add(Pair("total_memory", p.total_memory_kib / 1024))
      .Add(Pair("free_memory", p.free_memory_kib / 1024));
  node.Add(Pair("free_cpus", 0)).Add(Pair("cpu_topology", topology));
  node.Add(Pair("node_to_cpu", "node0:0-" + std::to_string(p.nr_cpus ? p.nr_cpus - 1 : 0)));
  node.Add(Pair("numa_info", "none"));
  node.Add(Pair("xen_major", v.major))
      .Add(Pair("xen_minor", v.minor))
      .Add(Pair("xen_extra", v.extra));
  node.Add(Pair("xen_caps", v.caps))
      .Add(Pair("xen_scheduler", v.scheduler.empty() ? "credit" : v.scheduler));
  node.Add(Pair("xen_pagesize", v.pagesize ? v.pagesize : 4096));
  char params[48];
  snprintf(params, sizeof params, "virt_start=0x%llx",
           static_cast<unsigned long long>(v.virt_start));
  node.Add(Pair("platform_params", params)).Add(Pair("xen_changeset", v.changeset));
  node.Add(Pair("xen_commandline", v.commandline)).Add(Pair("cc_compiler", v.compiler));
  node.Add(Pair("cc_compile_by", v.compile_by)).Add(Pair("cc_compile_domain", v.compile_domain));
  node.Add(Pair("cc_compile_date", v.compile_date)).Add(Pair("xend_config_format", 4));
  return node;
}

Value VcpuInfoSxp(const DomainRecord& r, const std::vector<toolstack::VcpuInfo>& vcpus) {
  Value d = Value::List({"domain"});
  d.Add(Pair("domid", r.info ? r.info->domid : 0)).Add(Pair("name", r.config->name));
  d.Add(Pair("vcpu_count", vcpus.size()));
  for (const auto& v : vcpus) {
    Value cpumap;
    for (uint32_t c : v.affinity.ToVector()) cpumap.Add(std::to_string(c));
    Value one = Value::List({"vcpu"});
    one.Add(Pair("number", v.vcpu)).Add(Pair("online", v.online)).Add(Pair("blocked", v.blocked));
    one.Add(Pair("running", v.running))
        .Add(Pair("cpu_time", toolstack::Seconds(static_cast<double>(v.cpu_time_ns) / 1e9)));
    one.Add(Pair("cpu", v.online ? std::to_string(v.cpu) : std::string("-1")));
    one.Add(Value::List({"cpumap", cpumap}));
    d.Add(std::move(one));
  }
  return d;
}

http::HttpResponse SxpReply(int status, const Value& v) {
  return http::HttpResponse{status, "application/sxp", sxp::ToString(v)};
}

sxp::Value PciInfoSxp(const std::vector<toolstack::PciDevice>& devices) {
  sxp::Value out = sxp::Value::List();
  char domain[8], bus[8], slot[8], func[8];
  for (const toolstack::PciDevice& d : devices) {
    snprintf(domain, sizeof domain, "0x%04x", d.domain);
    snprintf(bus, sizeof bus, "0x%02x", d.bus);
    snprintf(slot, sizeof slot, "0x%02x", d.slot);
    snprintf(func, sizeof func, "0x%x", d.func);
    out.Add(sxp::Value::List({"dev", sxp::Value::List({"domain", domain}),
                              sxp::Value::List({"bus", bus}), sxp::Value::List({"slot", slot}),
                              sxp::Value::List({"func", func})}));
  }
  return out;
}

}  // namespace txend::daemon
