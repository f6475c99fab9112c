#include "txend/xend_ops.h"

#include <algorithm>
#include <cctype>
#include <limits>

#include "base/numbers.h"
#include "toolstack/config/domain_config.h"
#include "toolstack/config/incoming_policy.h"
#include "toolstack/domain/device_ops.h"
#include "toolstack/domain/domain_queries.h"
#include "toolstack/domain/domain_sxp.h"
#include "toolstack/domain/lifecycle.h"
#include "toolstack/domain/managed_domains.h"
#include "toolstack/domain/power_state.h"
#include "txend/xend_sxp.h"

namespace txend::daemon {
namespace {

using toolstack::DomainRecord;

// A body-less reply once `st` says the op worked.
Result<std::string> Nothing(const Status& st) {
  if (!st.ok()) return st;
  return std::string();
}

template <typename T>
Result<std::string> Nothing(const Result<T>& r) {
  return Nothing(r.status());
}

Result<std::string> Sxp(const Result<sxp::Value>& v) {
  if (!v.ok()) return v.status();
  return sxp::ToString(*v);
}

// A count that must fit T: "Invalid parameter: vcpus ..." otherwise.
template <typename T>
Result<T> Count(const OpArgs& args, const std::string& name) {
  TXEND_ASSIGN_OR_RETURN(uint64_t v, args.NonNegative(name));
  if (v > std::numeric_limits<T>::max())
    return Status::Error(kBadRequest,
                         "Invalid parameter: " + name + " " + std::to_string(v) + " is too large");
  return static_cast<T>(v);
}

// --- POST /xend/domain/<dom> ------------------------------------------------

Result<std::string> Shutdown(OpCall& c) {
  TXEND_ASSIGN_OR_RETURN(std::string reason, c.args.Required("reason"));
  return Nothing(c.toolstack.lifecycle().Shutdown(c.dom, reason));
}

Result<std::string> WaitForDevices(OpCall& c) {  // create already waited for every backend
  return Nothing(c.toolstack.queries().Resolve(c.dom));
}

Result<std::string> Rename(OpCall& c) {
  TXEND_ASSIGN_OR_RETURN(std::string name, c.args.Required("name"));
  return Nothing(c.toolstack.lifecycle().Rename(c.dom, name));
}

Result<std::string> Save(OpCall& c) {
  TXEND_ASSIGN_OR_RETURN(std::string file, c.args.Required("file"));
  return Nothing(c.toolstack.lifecycle().Save(c.dom, file));
}

// live, crash and reset default to 0 (libvirt sends no reset).
Result<std::string> Dump(OpCall& c) {
  TXEND_ASSIGN_OR_RETURN(std::string file, c.args.Required("file"));
  toolstack::DumpOptions how{c.args.Flag("live"), c.args.Flag("crash"), c.args.Flag("reset")};
  return Nothing(c.toolstack.lifecycle().DumpCore(c.dom, file, how));
}

// The key is a letter, or (from xm) the letter's character code.
Result<std::string> Sysrq(OpCall& c) {
  TXEND_ASSIGN_OR_RETURN(std::string key, c.args.Required("key"));
  if (key.size() > 1 && std::all_of(key.begin(), key.end(), ::isdigit)) {
    auto code = ParseInteger<uint8_t>(key);
    if (!code.ok() || *code == 0)
      return Status::Error(kBadRequest, "Invalid parameter: key " + Quoted(key) +
                                            " is not a character code (1 to 255)");
    key = std::string(1, static_cast<char>(*code));
  }
  return Nothing(c.toolstack.lifecycle().Sysrq(c.dom, key));
}

Result<std::string> MaxMemSet(OpCall& c) {
  TXEND_ASSIGN_OR_RETURN(uint64_t mib, c.args.NonNegative("memory"));
  return Nothing(c.toolstack.lifecycle().SetMaxMemory(c.dom, mib));
}

Result<std::string> MemTargetSet(OpCall& c) {
  TXEND_ASSIGN_OR_RETURN(uint64_t mib, c.args.NonNegative("target"));
  return Nothing(c.toolstack.lifecycle().SetMemoryTarget(c.dom, mib));
}

Result<std::string> SetVcpus(OpCall& c) {
  TXEND_ASSIGN_OR_RETURN(uint32_t n, Count<uint32_t>(c.args, "vcpus"));
  return Nothing(c.toolstack.lifecycle().SetVcpus(c.dom, n));
}

// libvirt sends cpumap "0,2,3" (or "[0, 2]"); xm "0-3,^1" or "all"; vcpu -1 is every vcpu.
Result<std::string> PinCpu(OpCall& c) {
  TXEND_ASSIGN_OR_RETURN(std::string vcpu, c.args.Required("vcpu"));
  TXEND_ASSIGN_OR_RETURN(std::string cpus, c.args.Required("cpumap"));
  cpus.erase(std::remove(cpus.begin(), cpus.end(), ' '), cpus.end());
  if (cpus.size() >= 2 && (cpus.front() == '[' || cpus.front() == '('))
    cpus = cpus.substr(1, cpus.size() - 2);
  TXEND_RETURN_IF_ERROR(c.toolstack.lifecycle().PinVcpu(c.dom, vcpu == "-1" ? "all" : vcpu, cpus));
  return std::string("0");
}

Result<std::string> SchedCreditGet(OpCall& c) {
  TXEND_ASSIGN_OR_RETURN(toolstack::SchedCredit credit,
                         c.toolstack.lifecycle().GetSchedCredit(c.dom));
  return Sxp(SchedCreditSxp(credit));
}

// xend: weight 0 and a negative cap leave that parameter unchanged.
Result<std::string> SchedCreditSet(OpCall& c) {
  std::optional<uint32_t> weight, cap;
  if (c.args.Has("weight")) {
    TXEND_ASSIGN_OR_RETURN(uint32_t w, Count<uint32_t>(c.args, "weight"));
    if (w) weight = w;
  }
  if (c.args.Has("cap")) {
    TXEND_ASSIGN_OR_RETURN(int64_t v, c.args.Integer("cap"));
    if (v >= 0) {
      TXEND_ASSIGN_OR_RETURN(cap, Count<uint32_t>(c.args, "cap"));
    }
  }
  TXEND_RETURN_IF_ERROR(c.toolstack.lifecycle().SetSchedCredit(c.dom, weight, cap));
  return std::string("0");
}

Result<std::string> DeviceCreate(OpCall& c) {
  TXEND_ASSIGN_OR_RETURN(sxp::Value device, c.args.Sxp("config"));
  return Nothing(c.toolstack.devices().AttachDevice(c.dom, device));
}

// libvirt's change-media and attach-disk to an existing CD-ROM drive; the
// `dev` it sends is redundant with the config's (dev ..).
Result<std::string> DeviceConfigure(OpCall& c) {
  TXEND_ASSIGN_OR_RETURN(sxp::Value device, c.args.Sxp("config"));
  TXEND_RETURN_IF_ERROR(c.toolstack.devices().ConfigureDevice(c.dom, device));
  return std::string("True");
}

Result<std::string> DeviceDestroy(OpCall& c) {
  TXEND_ASSIGN_OR_RETURN(std::string type, c.args.Required("type"));
  TXEND_ASSIGN_OR_RETURN(std::string dev, c.args.Required("dev"));
  if (type == "tap" || type == "tap2") type = "vbd";
  return Nothing(c.toolstack.devices().DetachDevice(c.dom, type, dev, c.args.Flag("force")));
}

Result<std::string> Devices(OpCall& c) {
  TXEND_ASSIGN_OR_RETURN(std::string type, c.args.Required("type"));
  TXEND_ASSIGN_OR_RETURN(auto snap, xs::Snapshot::Begin(c.xs));
  TXEND_ASSIGN_OR_RETURN(auto details, c.toolstack.queries().DeviceDetails(snap, c.dom, type));
  return Sxp(DeviceDetailsSxp(details));
}

Result<std::string> Migrate(OpCall& c) {
  TXEND_ASSIGN_OR_RETURN(toolstack::MigrateRequest request, c.migrations.Request(c.args));
  TXEND_ASSIGN_OR_RETURN(DomainRecord record, c.toolstack.queries().Resolve(c.dom));
  return Sxp(c.migrations.Migrate(c.toolstack, c.dom, record.config->name, std::move(request)));
}

const XendOp kDomainOps[] = {
    {"pause", 200, [](OpCall& c) { return Nothing(c.toolstack.lifecycle().Pause(c.dom)); }},
    {"unpause", 200, [](OpCall& c) { return Nothing(c.toolstack.lifecycle().Unpause(c.dom)); }},
    {"destroy", 202, [](OpCall& c) { return Nothing(c.toolstack.lifecycle().Destroy(c.dom)); }},
    {"delete", 202, [](OpCall& c) { return Nothing(c.toolstack.managed().Delete(c.dom)); }},
    {"wait_for_devices", 202, WaitForDevices},
    {"shutdown", 202, Shutdown},
    {"start", 202,
     [](OpCall& c) { return Nothing(c.toolstack.managed().Start(c.dom, c.args.Flag("paused"))); }},
    {"reset", 202, [](OpCall& c) { return Nothing(c.toolstack.lifecycle().Reset(c.dom)); }},
    {"rename", 202, Rename},
    {"save", 202, Save},
    {"dump", 202, Dump},
    {"sysrq", 202, Sysrq},
    {"maxmem_set", 200, MaxMemSet},
    {"mem_target_set", 200, MemTargetSet},
    {"set_vcpus", 200, SetVcpus},
    {"setVcpuCount", 200, SetVcpus},
    {"pincpu", 200, PinCpu},
    {"domain_sched_credit_get", 200, SchedCreditGet},
    {"domain_sched_credit_set", 200, SchedCreditSet},
    {"device_create", 200, DeviceCreate},
    {"device_configure", 200, DeviceConfigure},
    {"device_destroy", 200, DeviceDestroy},
    {"devices", 200, Devices},
    {"migrate", 200, Migrate},
};

// --- POST /xend/domain ------------------------------------------------------

Result<toolstack::ValidConfig> Config(OpCall& c) {
  TXEND_ASSIGN_OR_RETURN(sxp::Value config, c.args.Sxp("config"));
  TXEND_ASSIGN_OR_RETURN(toolstack::ValidConfig valid, c.toolstack.ParseConfig(config));
  if (c.remote)
    TXEND_RETURN_IF_ERROR(toolstack::CheckIncomingPolicy(c.toolstack.incoming_policy(), *valid));
  return valid;
}

// xend creates paused; libvirt and xm then unpause. The reply is the new domain's SXP.
Result<std::string> Create(OpCall& c) {
  TXEND_ASSIGN_OR_RETURN(toolstack::ValidConfig config, Config(c));
  TXEND_ASSIGN_OR_RETURN(DomainRecord created, c.toolstack.lifecycle().Create(config, true));
  std::string out;
  toolstack::AppendDomainSxp(created, out);
  return out;
}

Result<std::string> New(OpCall& c) {
  TXEND_ASSIGN_OR_RETURN(toolstack::ValidConfig config, Config(c));
  return Nothing(c.toolstack.managed().New(config));
}

Result<std::string> Restore(OpCall& c) {
  TXEND_ASSIGN_OR_RETURN(std::string file, c.args.Required("file"));
  return Nothing(c.toolstack.lifecycle().Restore(file, c.args.Flag("paused")));
}

// op=list: GET /xend/domain with detail=1.
Result<std::string> List(OpCall& c) {
  http::Params detail = c.args.params();
  detail.Add("detail", "1");
  return ListDomains(c.toolstack, detail);
}

const XendOp kDomainsOps[] = {
    {"create", 201, Create},
    {"new", 200, New},
    {"restore", 201, Restore},
    {"list", 200, List},
};

template <size_t N>
const XendOp* Find(const XendOp (&ops)[N], std::string_view name) {
  auto it = std::find_if(ops, ops + N, [&](const XendOp& op) { return op.name == name; });
  return it == ops + N ? nullptr : it;
}

}  // namespace

const XendOp* FindDomainOp(std::string_view name) { return Find(kDomainOps, name); }
const XendOp* FindDomainsOp(std::string_view name) { return Find(kDomainsOps, name); }

Result<std::string> ListDomains(toolstack::Toolstack& toolstack, const http::Params& params) {
  TXEND_ASSIGN_OR_RETURN(auto all, toolstack.queries().List());
  std::string state = params.GetOr("state", "running");
  std::transform(state.begin(), state.end(), state.begin(), ::tolower);
  bool detail = params.GetOr("detail", "0") == "1";
  std::vector<const DomainRecord*> chosen;
  for (const auto& r : all)
    if (state == "all" || toolstack::ParsePowerState(state) == r.power_state())
      chosen.push_back(&r);
  if (!detail)
    std::sort(chosen.begin(), chosen.end(),
              [](auto* a, auto* b) { return a->config->name < b->config->name; });
  std::string out = "(";
  out.reserve(detail ? chosen.size() * 1024 : chosen.size() * 16);
  for (const auto* r : chosen) {
    if (out.size() > 1) out += ' ';
    if (detail)
      toolstack::AppendDomainSxp(*r, out);
    else
      sxp::AppendAtom(r->config->name, out);
  }
  out += ')';
  return out;
}

}  // namespace txend::daemon
