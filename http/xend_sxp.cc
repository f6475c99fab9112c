#include "http/xend_sxp.h"

#include <sys/utsname.h>

#include <cstdio>

namespace txend::http {
namespace {

using sxp::Value;
using toolstack::DomainRecord;

Value L(const std::string& name) { return Value::List({Value::Atom(name)}); }
Value Pair(const std::string& name, uint64_t v) { return Value::Pair(name, std::to_string(v)); }

// Per-vcpu pinning as xend printed it: (() ()) when unpinned.
Value CpusSxp(const toolstack::DomainConfig& c) {
  Value cpus;
  std::vector<int> pinned;
  if (!c.cpus.empty()) {
    auto parsed = toolstack::ParseCpuList(c.cpus, 4096);
    if (parsed.ok()) pinned = *parsed;
  }
  for (uint32_t v = 0; v < c.vcpus; ++v) {
    Value one;
    for (int cpu : pinned) one.Add(Value::Atom(std::to_string(cpu)));
    cpus.Add(std::move(one));
  }
  return Value::List({Value::Atom("cpus"), cpus});
}

Value ImageSxp(const toolstack::DomainConfig& c) {
  Value kind = L(c.hvm() ? "hvm" : "linux");
  kind.Add("kernel", c.kernel);
  if (!c.ramdisk.empty()) kind.Add("ramdisk", c.ramdisk);
  if (!c.CommandLine().empty()) kind.Add("args", c.CommandLine());
  for (const auto& [k, v] : c.image_options) kind.Add(k, v);
  return Value::List({Value::Atom("image"), kind});
}

Value DeviceSxp(const DomainRecord& r, const toolstack::DeviceStatus& d) {
  const auto& c = r.config;
  Value dev = L(d.ref.type);
  dev.Add("backend", "0");
  if (d.ref.type == "vbd") {
    const auto& disk = c.disks[d.ref.index];
    std::string name = disk.dev.substr(0, disk.dev.find(':'));
    bool cdrom = disk.dev.find(":cdrom") != std::string::npos;
    dev.Add("dev", name + (cdrom ? ":cdrom" : ":disk"));
    dev.Add("uname", disk.uname).Add("mode", disk.mode).Add("bootable", d.ref.index == 0 ? "1" : "0");
  } else if (d.ref.type == "vif") {
    const auto& vif = c.vifs[d.ref.index];
    dev.Add("mac", vif.mac);
    dev.Add("script", vif.script.empty() ? "/etc/xen/scripts/vif-bridge" : vif.script);
    for (const auto& [k, v] : {std::pair{"bridge", vif.bridge}, {"ip", vif.ip}, {"vifname", vif.vifname},
                               {"model", vif.model}, {"type", vif.type}, {"rate", vif.rate}})
      if (!v.empty()) dev.Add(k, v);
  } else if (d.ref.type == "vfb") {
    for (const auto& [k, v] : c.vfbs[d.ref.index].options) dev.Add(k, v);
  }
  if (r.info) {  // live: where it stands in the handshake
    dev.Add("devid", std::to_string(d.ref.devid));
    dev.Add("state", std::to_string(d.backend_state));
  }
  return Value::List({Value::Atom("device"), dev});
}

}  // namespace

HostFacts HostFacts::Read() {
  utsname u{};
  uname(&u);
  return {u.sysname, u.nodename, u.release, u.version, u.machine};
}

std::string Seconds(double s) {
  char buf[64];
  snprintf(buf, sizeof buf, "%.12g", s);
  std::string out = buf;
  if (out.find('.') == std::string::npos && out.find('e') == std::string::npos) out += ".0";
  return out;
}

int PowerState(const DomainRecord& r) {
  if (!r.info) return 0;
  if (r.info->crashed()) return 5;
  if (r.info->shutdown) return r.info->shutdown_reason == toolstack::ShutdownReason::kSuspend ? 3 : 4;
  if (r.info->paused) return 1;
  return 2;
}

Value DomainSxp(const DomainRecord& r) {
  const auto& c = r.config;
  Value d = L("domain");
  if (r.info) d.Add(Pair("domid", r.info->domid));
  d.Add(Pair("cpu_weight", c.cpu_weight)).Add(Pair("cpu_cap", c.cpu_cap)).Add("pool_name", "Pool-0");
  d.Add("bootloader", c.bootloader).Add(Pair("vcpus", c.vcpus)).Add(CpusSxp(c));
  d.Add("on_poweroff", c.on_poweroff).Add("description", "").Add("on_crash", c.on_crash);
  d.Add("uuid", c.uuid).Add("bootloader_args", c.bootloader_args).Add("name", c.name).Add("on_reboot", c.on_reboot);
  uint64_t memory = r.memory_target_kib ? r.memory_target_kib / 1024 : c.memory_mib;
  d.Add(Pair("maxmem", c.max_mib())).Add(Pair("memory", memory)).Add(Pair("shadow_memory", 0));
  uint32_t avail = c.vcpu_avail ? c.vcpu_avail : (c.vcpus >= 32 ? ~0u : (1u << c.vcpus) - 1);
  d.Add(Pair("vcpu_avail", avail)).Add("features", "");
  d.Add("on_xend_start", c.autostart ? "start" : "ignore");
  d.Add("on_xend_stop", "ignore");
  if (r.info) {
    if (r.info->domid != 0) d.Add("start_time", Seconds(r.start_time));
    d.Add("cpu_time", Seconds(static_cast<double>(r.info->cpu_time_ns) / 1e9));
    d.Add(Pair("online_vcpus", r.info->online_vcpus));
  }
  d.Add(ImageSxp(c));
  d.Add(Pair("status", static_cast<uint64_t>(PowerState(r))));
  if (r.info) d.Add("state", r.info->StateString());
  if (c.localtime) d.Add("localtime", "1");
  for (const auto& dev : r.devices) d.Add(DeviceSxp(r, dev));
  if (!r.info) {  // inactive: devices from the config
    auto refs = toolstack::DevicesOf(c);
    if (refs.ok())
      for (const auto& ref : *refs) d.Add(DeviceSxp(r, {ref, 0, 0, ""}));
  }
  return d;
}

Value NodeSxp(const toolstack::NodeRecord& n, const HostFacts& h) {
  const auto& p = n.phys;
  const auto& v = n.version;
  std::string topology = "\ncpu:    core    socket     node";
  for (uint32_t cpu = 0; cpu < p.nr_cpus; ++cpu) {
    char line[64];
    uint32_t per_socket = p.cores_per_socket * p.threads_per_core;
    snprintf(line, sizeof line, "\n%3u:%8u %8u %8u", cpu, (cpu / p.threads_per_core) % p.cores_per_socket,
             per_socket ? cpu / per_socket : 0, 0u);
    topology += line;
  }
  Value node = L("node");
  node.Add("system", h.system).Add("host", h.host).Add("release", h.release).Add("version", h.version);
  node.Add("machine", h.machine).Add(Pair("nr_cpus", p.nr_cpus)).Add(Pair("nr_nodes", p.nr_nodes));
  node.Add(Pair("sockets_per_node", p.sockets_per_node)).Add(Pair("cores_per_socket", p.cores_per_socket));
  node.Add(Pair("threads_per_core", p.threads_per_core)).Add(Pair("cpu_mhz", p.cpu_mhz));
  node.Add("hw_caps", p.hw_caps).Add("virt_caps", p.hvm ? "hvm" : "");
  node.Add(Pair("total_memory", p.total_kib / 1024)).Add(Pair("free_memory", p.free_kib / 1024));
  node.Add(Pair("free_cpus", 0)).Add("cpu_topology", topology);
  node.Add("node_to_cpu", "node0:0-" + std::to_string(p.nr_cpus ? p.nr_cpus - 1 : 0));
  node.Add("numa_info", "none");
  node.Add(Pair("xen_major", static_cast<uint64_t>(v.major))).Add(Pair("xen_minor", static_cast<uint64_t>(v.minor)));
  node.Add("xen_extra", v.extra).Add("xen_caps", v.caps).Add("xen_scheduler", "credit");
  node.Add(Pair("xen_pagesize", 4096)).Add("platform_params", "virt_start=0xffff800000000000");
  node.Add("xen_changeset", v.changeset).Add("xen_commandline", v.cmdline);
  node.Add("cc_compiler", v.compiler).Add("cc_compile_by", v.compile_by).Add("cc_compile_domain", "");
  node.Add("cc_compile_date", v.compile_date).Add(Pair("xend_config_format", 4));
  return node;
}

Value VcpuInfoSxp(const DomainRecord& r, const std::vector<toolstack::VcpuInfo>& vcpus) {
  Value d = L("domain");
  d.Add(Pair("domid", r.info ? r.info->domid : 0)).Add("name", r.config.name).Add(Pair("vcpu_count", vcpus.size()));
  for (const auto& v : vcpus) {
    Value cpumap;
    for (int c : v.affinity) cpumap.Add(Value::Atom(std::to_string(c)));
    Value one = L("vcpu");
    one.Add(Pair("number", v.vcpu)).Add(Pair("online", v.online)).Add(Pair("blocked", v.blocked));
    one.Add(Pair("running", v.running)).Add("cpu_time", Seconds(static_cast<double>(v.cpu_time_ns) / 1e9));
    one.Add("cpu", std::to_string(v.cpu)).Add(Value::List({Value::Atom("cpumap"), cpumap}));
    d.Add(std::move(one));
  }
  return d;
}

HttpResponse SxpReply(int status, const Value& v) { return HttpResponse{status, "application/sxp", sxp::Show(v)}; }

}  // namespace txend::http
