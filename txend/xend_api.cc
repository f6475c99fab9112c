#include "txend/xend_api.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

#include "toolstack/config/domain_config.h"
#include "toolstack/domain/device_ops.h"
#include "toolstack/domain/domain_queries.h"
#include "toolstack/domain/domain_sxp.h"
#include "toolstack/domain/lifecycle.h"
#include "toolstack/domain/managed_domains.h"

namespace txend::http {
namespace {

using toolstack::DomainRecord;

// Splits "/xend/domain/demo" into {"xend","domain","demo"}; empty parts dropped.
std::vector<std::string> PathParts(const std::string& path) {
  std::vector<std::string> parts;
  std::stringstream in(path);
  std::string part;
  while (std::getline(in, part, '/'))
    if (!part.empty()) parts.push_back(part);
  return parts;
}

Result<std::string> Required(const Params& p, const std::string& name) {
  auto v = p.Get(name);
  if (!v) return Status::Error(EINVAL, "Missing parameter: " + name);
  return *v;
}

Result<int64_t> IntParam(const Params& p, const std::string& name) {
  TXEND_ASSIGN_OR_RETURN(std::string text, Required(p, name));
  std::string_view t(text);
  while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
  while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
  int64_t v = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc() || end != t.data() + t.size() || t.empty())
    return Status::Error(EINVAL,
                         "Invalid parameter: " + name + " ('" + text + "' is not an integer)");
  return v;
}

Result<uint64_t> PositiveParam(const Params& p, const std::string& name) {
  TXEND_ASSIGN_OR_RETURN(int64_t v, IntParam(p, name));
  if (v < 0) return Status::Error(EINVAL, "Invalid parameter: " + name + " must not be negative");
  return static_cast<uint64_t>(v);
}

bool BoolParam(const Params& p, const std::string& name) {
  std::string v = p.GetOr(name, "0");
  std::transform(v.begin(), v.end(), v.begin(), ::tolower);
  return v == "1" || v == "yes" || v == "on" || v == "true";
}

Result<sxp::Value> SxpParam(const Params& p, const std::string& name) {
  TXEND_ASSIGN_OR_RETURN(std::string text, Required(p, name));
  auto v = sxp::Parse(text);
  if (!v.ok())
    return Status::Error(EINVAL, "Invalid parameter: " + name + ": " + v.status().message());
  return v;
}

HttpResponse Empty(int status) { return HttpResponse{status, "application/sxp", ""}; }

HttpResponse Text(int status, std::string body) {
  return HttpResponse{status, "text/plain", std::move(body)};
}

HttpResponse Done(const Status& st, int status) { return st.ok() ? Empty(status) : Failure(st); }

bool StateMatches(const DomainRecord& r, const std::string& state) {
  return state == "all" || toolstack::ParsePowerState(state) == r.power_state();
}

}  // namespace

HttpResponse Failure(const Status& st) {
  int code = st.code() == ESRCH                                                     ? 404
             : st.code() == EINVAL && st.message().starts_with("Missing parameter") ? 400
                                                                                    : 500;
  if (st.message().starts_with("Invalid parameter")) code = 400;
  return XendError(code, st.message().empty() ? st.ToString() : st.message());
}

XendApi::XendApi(toolstack::Toolstack& toolstack, xs::Connection& xs, HostFacts host,
                 std::string log_file, Log log, toolstack::MigrateRequest migrate_defaults)
    : toolstack_(toolstack),
      xs_(xs),
      host_(std::move(host)),
      log_file_(std::move(log_file)),
      log_(std::move(log)),
      migrate_defaults_(std::move(migrate_defaults)) {
  if (!log_) log_ = [](const std::string&) {};
}

HttpResponse XendApi::Handle(const HttpRequest& req) {
  auto parts = PathParts(req.path);
  bool get = req.method == "GET" || req.method == "HEAD";
  if (!get && req.method != "POST") return XendError(501, "Not implemented: " + req.method);
  if (parts.empty() || parts[0] != "xend") return XendError(404, "Not found: " + req.path);
  if (parts.size() == 1)
    return get ? SxpReply(200, sxp::Value::List({"ls", "node", "domain", "vnet"}))
               : XendError(501, "Not implemented");
  if (parts[1] == "node" && parts.size() <= 3) {
    std::string what = parts.size() == 3 ? parts[2] : "";
    return get ? GetNode(what) : PostNode(what, req);
  }
  if (parts[1] == "domain") {
    if (parts.size() == 2) return get ? GetDomains(req) : PostDomains(req);
    if (parts.size() == 3) return get ? GetDomain(parts[2], req) : PostDomain(parts[2], req);
  }
  return XendError(404, "Not found: " + req.path);
}

HttpResponse XendApi::GetNode(const std::string& what) {
  if (what.empty()) {
    auto node = toolstack_.queries().Node();
    return node.ok() ? SxpReply(200, NodeSxp(*node, host_)) : Failure(node.status());
  }
  if (what == "dmesg") {
    auto ring = toolstack_.queries().Dmesg(false);
    return ring.ok() ? Text(200, *ring) : Failure(ring.status());
  }
  if (what == "log") {
    std::ifstream in(log_file_);
    std::stringstream text;
    text << in.rdbuf();
    return Text(200, text.str());
  }
  return XendError(404, "Not found: " + what);
}

HttpResponse XendApi::PostNode(const std::string& what, const HttpRequest& req) {
  std::string op = req.params.GetOr("op", "");
  if (what == "dmesg" && op == "clear") {
    auto ring = toolstack_.queries().Dmesg(true);
    return ring.ok() ? Empty(200) : Failure(ring.status());
  }
  if (op == "shutdown" || op == "reboot")
    return XendError(500, "txend does not shut down or reboot the host; use the host's own tools");
  return XendError(501, "Operation not implemented: " + op);
}

HttpResponse XendApi::GetDomains(const HttpRequest& req) {
  auto snap = xs::Snapshot::Begin(xs_);
  if (!snap.ok()) return Failure(snap.status());
  auto all = toolstack_.queries().List(*snap);
  if (!all.ok()) return Failure(all.status());
  std::string state = req.params.GetOr("state", "running");
  std::transform(state.begin(), state.end(), state.begin(), ::tolower);
  bool detail = req.params.GetOr("detail", "0") == "1";
  sxp::Value out;
  std::vector<const DomainRecord*> chosen;
  for (const auto& r : *all)
    if (StateMatches(r, state)) chosen.push_back(&r);
  if (!detail)
    std::sort(chosen.begin(), chosen.end(),
              [](auto* a, auto* b) { return a->config->name < b->config->name; });
  for (const auto* r : chosen)
    out.Add(detail ? toolstack::DomainSxp(*r) : sxp::Value(r->config->name));
  return SxpReply(200, out);
}

HttpResponse XendApi::GetDomain(const std::string& dom, const HttpRequest& req) {
  auto snap = xs::Snapshot::Begin(xs_);
  if (!snap.ok()) return Failure(snap.status());
  auto r = toolstack_.queries().Get(*snap, dom);
  if (!r.ok()) return Failure(r.status());
  if (req.params.GetOr("op", "") == "migrate_progress") return MigrateProgress(r->config->name);
  if (req.params.GetOr("op", "") == "vcpuinfo") {
    if (!r->info) return SxpReply(200, VcpuInfoSxp(*r, {}));
    auto vcpus = toolstack_.queries().Vcpus(std::to_string(r->info->domid));
    if (!vcpus.ok()) return Failure(vcpus.status());
    return SxpReply(200, VcpuInfoSxp(*r, *vcpus));
  }
  return SxpReply(200, toolstack::DomainSxp(*r));
}

HttpResponse XendApi::Created(const DomainRecord& record) {
  return SxpReply(201, toolstack::DomainSxp(record));
}

HttpResponse XendApi::PostDomains(const HttpRequest& req) {
  auto ops = req.params.GetAll("op");
  if (ops.size() != 1) return XendError(406, "Invalid request: exactly one op is needed");
  const std::string& op = ops[0];
  if (op == "create" || op == "new") {
    auto config = SxpParam(req.params, "config");
    if (!config.ok()) return Failure(config.status());
    auto parsed = toolstack_.ParseConfig(*config);
    if (!parsed.ok()) return Failure(parsed.status());
    if (op == "new") return Done(toolstack_.managed().New(*parsed), 200);
    // xend creates paused; libvirt and xm then unpause.
    auto created = toolstack_.lifecycle().Create(*parsed, true);
    return created.ok() ? Created(*created) : Failure(created.status());
  }
  if (op == "restore") {
    auto file = Required(req.params, "file");
    if (!file.ok()) return Failure(file.status());
    auto domid = toolstack_.lifecycle().Restore(*file, BoolParam(req.params, "paused"));
    return domid.ok() ? Empty(201) : Failure(domid.status());
  }
  if (op == "list") {
    HttpRequest detail = req;
    detail.params.Add("detail", "1");
    return GetDomains(detail);
  }
  return XendError(501, "Operation not implemented: " + op);
}

HttpResponse XendApi::PostDomain(const std::string& dom, const HttpRequest& req) {
  auto ops = req.params.GetAll("op");
  if (ops.size() != 1) return XendError(406, "Invalid request: exactly one op is needed");
  const std::string& op = ops[0];
  const Params& p = req.params;
  auto& ts = toolstack_;
  if (op == "pause") return Done(ts.lifecycle().Pause(dom), 200);
  if (op == "unpause") return Done(ts.lifecycle().Unpause(dom), 200);
  if (op == "destroy") return Done(ts.lifecycle().Destroy(dom), 202);
  if (op == "delete") return Done(ts.managed().Delete(dom), 202);
  if (op == "wait_for_devices") {  // create already waited for every backend
    auto r = ts.queries().Resolve(dom);
    return r.ok() ? Empty(202) : Failure(r.status());
  }
  if (op == "shutdown") {
    auto reason = Required(p, "reason");
    return reason.ok() ? Done(ts.lifecycle().Shutdown(dom, *reason), 202)
                       : Failure(reason.status());
  }
  if (op == "start") {
    auto domid = ts.managed().Start(dom, BoolParam(p, "paused"));
    return domid.ok() ? Empty(202) : Failure(domid.status());
  }
  if (op == "reset") {
    auto domid = ts.lifecycle().Reset(dom);
    return domid.ok() ? Empty(202) : Failure(domid.status());
  }
  if (op == "rename") {
    auto name = Required(p, "name");
    return name.ok() ? Done(ts.lifecycle().Rename(dom, *name), 202) : Failure(name.status());
  }
  if (op == "save") {
    auto file = Required(p, "file");
    return file.ok() ? Done(ts.lifecycle().Save(dom, *file), 202) : Failure(file.status());
  }
  if (op == "dump") {  // live, crash and reset default to 0 (libvirt sends no reset)
    auto file = Required(p, "file");
    return file.ok() ? Done(ts.lifecycle().DumpCore(dom, *file), 202) : Failure(file.status());
  }
  if (op == "sysrq") {
    auto key = Required(p, "key");
    if (!key.ok()) return Failure(key.status());
    std::string k = *key;
    if (k.size() > 1 && std::all_of(k.begin(), k.end(), ::isdigit))
      k = std::string(1, static_cast<char>(std::stoi(k)));
    return Done(ts.lifecycle().Sysrq(dom, k), 202);
  }
  if (op == "maxmem_set") {
    auto mib = PositiveParam(p, "memory");
    return mib.ok() ? Done(ts.lifecycle().SetMaxMemory(dom, *mib), 200) : Failure(mib.status());
  }
  if (op == "mem_target_set") {
    auto mib = PositiveParam(p, "target");
    return mib.ok() ? Done(ts.lifecycle().SetMemoryTarget(dom, *mib), 200) : Failure(mib.status());
  }
  if (op == "set_vcpus" || op == "setVcpuCount") {
    auto n = PositiveParam(p, "vcpus");
    return n.ok() ? Done(ts.lifecycle().SetVcpus(dom, static_cast<uint32_t>(*n)), 200)
                  : Failure(n.status());
  }
  if (op == "pincpu") {
    auto vcpu = Required(p, "vcpu");
    auto cpumap = Required(p, "cpumap");
    if (!vcpu.ok()) return Failure(vcpu.status());
    if (!cpumap.ok()) return Failure(cpumap.status());
    std::string cpus = *cpumap;  // libvirt: "0,2,3"; xm: "0-3,^1" or "all"
    cpus.erase(std::remove(cpus.begin(), cpus.end(), ' '), cpus.end());
    if (cpus.size() >= 2 && (cpus.front() == '[' || cpus.front() == '('))
      cpus = cpus.substr(1, cpus.size() - 2);
    Status st = ts.lifecycle().PinVcpu(dom, *vcpu == "-1" ? "all" : *vcpu, cpus);
    return st.ok() ? HttpResponse{200, "application/sxp", "0"} : Failure(st);
  }
  if (op == "domain_sched_credit_get") {
    auto credit = ts.lifecycle().GetSchedCredit(dom);
    if (!credit.ok()) return Failure(credit.status());
    sxp::Value v;
    v.Add(sxp::Value::List({"weight", std::to_string(credit->weight)}));
    v.Add(sxp::Value::List({"cap", std::to_string(credit->cap)}));
    return SxpReply(200, v);
  }
  if (op == "domain_sched_credit_set") {
    std::optional<uint32_t> weight, cap;
    if (p.Has("weight")) {
      auto w = PositiveParam(p, "weight");
      if (!w.ok()) return Failure(w.status());
      if (*w) weight = static_cast<uint32_t>(*w);  // xend: 0 leaves it unchanged
    }
    if (p.Has("cap")) {
      auto c = IntParam(p, "cap");
      if (!c.ok()) return Failure(c.status());
      if (*c >= 0) cap = static_cast<uint32_t>(*c);
    }
    Status st = ts.lifecycle().SetSchedCredit(dom, weight, cap);
    return st.ok() ? HttpResponse{200, "application/sxp", "0"} : Failure(st);
  }
  if (op == "device_create" || op == "device_configure") {
    auto config = SxpParam(p, "config");
    if (!config.ok()) return Failure(config.status());
    Status st = ts.devices().AttachDevice(dom, *config);
    if (!st.ok()) return Failure(st);
    return HttpResponse{200, "application/sxp", op == "device_configure" ? "True" : ""};
  }
  if (op == "device_destroy") {
    auto type = Required(p, "type");
    auto dev = Required(p, "dev");
    if (!type.ok()) return Failure(type.status());
    if (!dev.ok()) return Failure(dev.status());
    std::string t = *type == "tap" || *type == "tap2" ? "vbd" : *type;
    return Done(ts.devices().DetachDevice(dom, t, *dev, BoolParam(p, "force")), 200);
  }
  if (op == "devices") {
    auto type = Required(p, "type");
    if (!type.ok()) return Failure(type.status());
    auto snap = xs::Snapshot::Begin(xs_);
    if (!snap.ok()) return Failure(snap.status());
    auto details = ts.queries().DeviceDetails(*snap, dom, *type);
    if (!details.ok()) return Failure(details.status());
    sxp::Value out;
    for (const auto& d : *details) {
      sxp::Value nodes;
      for (const auto& [k, v] : d.nodes) nodes.Add(sxp::Value::List({k, v}));
      out.Add(sxp::Value::List({std::to_string(d.devid), nodes}));
    }
    return SxpReply(200, out);
  }
  if (op == "migrate") return Migrate(dom, p);
  return XendError(501, "Operation not implemented: " + op);
}

}  // namespace txend::http

namespace txend::http {

// libvirt sends destination, live, port (0: the default), node, ssl,
// change_home_server and resource; xm the first four and ssl.
HttpResponse XendApi::Migrate(const std::string& dom, const Params& p) {
  auto destination = Required(p, "destination");
  if (!destination.ok()) return Failure(destination.status());
  toolstack::MigrateRequest request = migrate_defaults_;
  request.host = *destination;
  request.live = BoolParam(p, "live");
  request.port = toolstack::kRelocationPort;
  if (BoolParam(p, "ssl")) {
    request.tls = request.tls.value_or(toolstack::TlsOptions{});
    request.port = toolstack::kRelocationSslPort;
  } else {
    request.tls.reset();
  }
  if (p.Has("port")) {
    auto port = IntParam(p, "port");
    if (!port.ok()) return Failure(port.status());
    if (*port < 0 || *port > 65535)
      return Failure(Status::Error(EINVAL, "Invalid parameter: port " + std::to_string(*port)));
    if (*port != 0) request.port = static_cast<uint16_t>(*port);
  }
  auto record = toolstack_.queries().Resolve(dom);
  if (!record.ok()) return Failure(record.status());
  const std::string name = record->config->name;
  request.progress = [&](const toolstack::MigrationProgress& progress) {
    std::lock_guard lock(migrating_mu_);
    migrating_[name] = progress;
  };
  std::string where = request.host + ":" + std::to_string(request.port);
  log_("migrating '" + name + "' to " + where + (request.live ? " (live)" : "") +
       (request.tls ? " over SSL" : ""));
  auto result = toolstack_.migration().Migrate(dom, request);
  {
    std::lock_guard lock(migrating_mu_);
    migrating_.erase(name);
  }
  if (!result.ok()) {
    log_(result.status().message());
    return Failure(result.status());
  }
  char line[256];
  snprintf(line, sizeof line,
           "migrated '%s' to %s as domain %u: %u rounds, %.1f MB in %.3f s, downtime %.1f ms",
           name.c_str(), where.c_str(), result->remote_domid, result->rounds,
           static_cast<double>(result->bytes_sent) / 1e6, result->total_s,
           result->downtime_s * 1e3);
  log_(line);
  sxp::Value out = sxp::Value::List({"migrate"});
  auto field = [&](const char* key, std::string value) {
    out.Add(sxp::Value::List({key, std::move(value)}));
  };
  field("destination", request.host);
  field("port", std::to_string(request.port));
  field("live", request.live ? "1" : "0");
  field("ssl", request.tls ? "1" : "0");
  field("remote_domid", std::to_string(result->remote_domid));
  field("rounds", std::to_string(result->rounds));
  field("bytes_sent", std::to_string(result->bytes_sent));
  field("total_time", toolstack::Seconds(result->total_s));
  field("downtime", toolstack::Seconds(result->downtime_s));
  return SxpReply(200, out);
}

HttpResponse XendApi::MigrateProgress(const std::string& name) {
  std::optional<toolstack::MigrationProgress> now;
  {
    std::lock_guard lock(migrating_mu_);
    if (auto it = migrating_.find(name); it != migrating_.end()) now = it->second;
  }
  sxp::Value out = sxp::Value::List({"migrate_progress"});
  auto field = [&](const char* key, std::string value) {
    out.Add(sxp::Value::List({key, std::move(value)}));
  };
  if (!now) {
    field("phase", "none");
    return SxpReply(200, out);
  }
  field("phase", now->phase);
  field("round", std::to_string(now->round));
  field("bytes_sent", std::to_string(now->bytes_sent));
  field("dirty_pages", std::to_string(now->dirty_pages));
  field("elapsed", toolstack::Seconds(now->elapsed_s));
  return SxpReply(200, out);
}

}  // namespace txend::http
