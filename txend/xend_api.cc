#include "txend/xend_api.h"

#include <exception>

#include "base/host_files.h"
#include "base/numbers.h"
#include "toolstack/domain/domain_events.h"
#include "toolstack/domain/domain_queries.h"
#include "toolstack/domain/domain_sxp.h"
#include "toolstack/xs/transaction.h"
#include "txend/status_page.h"

namespace txend::daemon {
namespace {

// Splits "/xend/domain/demo" into {"xend","domain","demo"}; empty parts dropped.
std::vector<std::string> PathParts(std::string_view path) {
  std::vector<std::string> parts;
  while (!path.empty()) {
    size_t slash = path.find('/');
    std::string_view part = path.substr(0, slash);
    if (!part.empty()) parts.emplace_back(part);
    path.remove_prefix(slash == std::string_view::npos ? path.size() : slash + 1);
  }
  return parts;
}

constexpr char kHtml[] = "text/html; charset=utf-8";

// What `xm log` shows at most: xend's log never grew past this (XendLogging rotated at 1 MiB).
constexpr uint64_t kLogReplyBytes = uint64_t{1} << 20;

// The log's last kLogReplyBytes at most, from the start of a line.
Result<std::string> LogTail(const std::string& path) {
  TXEND_ASSIGN_OR_RETURN(std::string text, ReadRegularFileTail(path, "log", kLogReplyBytes + 1));
  if (text.size() <= kLogReplyBytes) return text;
  size_t line = text.find('\n', 1);
  return line == std::string::npos ? std::string() : text.substr(line + 1);
}

http::HttpResponse Text(int status, std::string body) {
  return http::HttpResponse{status, "text/plain", std::move(body)};
}

// A 200 with SXP already printed, or the failure.
http::HttpResponse SxpText(Result<std::string> text) {
  if (!text.ok()) return Failure(text.status());
  return http::HttpResponse{200, "application/sxp", std::move(*text)};
}

}  // namespace

http::HttpResponse Failure(const Status& st) {
  int code = st.code() == ESRCH ? 404 : st.code() == kBadRequest ? 400 : 500;
  return http::XendError(code, st.message().empty() ? st.ToString() : st.message());
}

XendApi::XendApi(toolstack::Toolstack& toolstack, xs::Connection& xs, HostFacts host,
                 std::string log_file, Log log, toolstack::MigrateRequest migrate_defaults)
    : toolstack_(toolstack),
      xs_(xs),
      host_(std::move(host)),
      log_file_(std::move(log_file)),
      migrations_(std::move(migrate_defaults), std::move(log)) {}

http::HandlerReply XendApi::Handle(const http::HttpRequest& req) {
  try {
    bool get = req.is_read();
    if (!get && req.cross_site)
      return http::XendError(403, "Forbidden: a page of another site may not change anything here");
    return get && !req.wants_sxp ? ForBrowser(req) : Route(req);
  } catch (const std::exception& e) {  // a bug, not a request's fault: the daemon serves on
    return http::XendError(500, std::string("internal error: ") + e.what());
  }
}

bool XendApi::AnswersAtOnce(const http::HttpRequest& req) const {
  if (!req.is_read()) return false;
  auto parts = PathParts(req.path);
  bool one_domain = parts.size() == 3 && parts[0] == "xend" && parts[1] == "domain";
  return one_domain && !req.params.Has("op") && toolstack_.queries().GetIsAtHand(parts[2]);
}

http::HandlerReply XendApi::Route(const http::HttpRequest& req) {
  auto parts = PathParts(req.path);
  bool get = req.is_read();
  if (!get && req.method != "POST") return http::XendError(501, "Not implemented: " + req.method);
  if (parts.empty() || parts[0] != "xend") return http::XendError(404, "Not found: " + req.path);
  if (parts.size() == 1)
    return get ? SxpReply(200, sxp::Value::List({"ls", "node", "domain", "vnet"}))
               : http::XendError(501, "Not implemented");
  if (parts[1] == "node" && parts.size() <= 3) {
    std::string what = parts.size() == 3 ? parts[2] : "";
    return get ? GetNode(what) : PostNode(what, req);
  }
  if (parts[1] == "events" && parts.size() == 2) {
    if (get) return GetEvents(req);
    return http::XendError(501, "Not implemented");
  }
  if (parts[1] == "domain" && parts.size() == 2)
    return get ? SxpText(ListDomains(toolstack_, req.params)) : Post("", req, FindDomainsOp);
  if (parts[1] == "domain" && parts.size() == 3)
    return get ? GetDomain(parts[2], req) : Post(parts[2], req, FindDomainOp);
  return http::XendError(404, "Not found: " + req.path);
}

http::HandlerReply XendApi::ForBrowser(const http::HttpRequest& req) {
  auto parts = PathParts(req.path);
  bool overview = parts.empty() || (parts[0] == "xend" && parts.size() == 1) ||
                  (parts[0] == "xend" && parts.size() == 2 &&
                   (parts[1] == "node" || parts[1] == "domain") && !req.params.Has("op"));
  if (overview) return StatusPage();
  return http::Then(Route(req), [path = req.path](http::HttpResponse r) {
    if (r.content_type != "application/sxp") return r;
    return http::HttpResponse{r.status, kHtml, SxpPageHtml(path, r.body)};
  });
}

http::HttpResponse XendApi::StatusPage() {
  auto node = toolstack_.queries().Node();
  if (!node.ok()) return Failure(node.status());
  auto records = toolstack_.queries().List();
  if (!records.ok()) return Failure(records.status());
  std::vector<sxp::Value> domains;
  for (const auto& r : *records) domains.push_back(toolstack::DomainSxp(r));
  return http::HttpResponse{200, kHtml, StatusPageHtml(NodeSxp(*node, host_), domains)};
}

http::HttpResponse XendApi::GetNode(const std::string& what) {
  if (what.empty()) {
    auto node = toolstack_.queries().Node();
    return node.ok() ? SxpReply(200, NodeSxp(*node, host_)) : Failure(node.status());
  }
  if (what == "dmesg") {
    auto ring = toolstack_.queries().Dmesg(false);
    return ring.ok() ? Text(200, *ring) : Failure(ring.status());
  }
  if (what == "pciinfo") return SxpReply(200, PciInfoSxp(toolstack_.queries().AssignablePci()));
  if (what == "log") {
    auto text = LogTail(log_file_);
    return text.ok() ? Text(200, std::move(*text)) : Failure(text.status());
  }
  return http::XendError(404, "Not found: " + what);
}

http::HttpResponse XendApi::PostNode(const std::string& what, const http::HttpRequest& req) {
  std::string op = req.params.GetOr("op", "");
  if (what == "dmesg" && op == "clear") {
    auto ring = toolstack_.queries().Dmesg(true);
    return ring.ok() ? http::HttpResponse{200, "application/sxp", ""} : Failure(ring.status());
  }
  if (op == "shutdown" || op == "reboot")
    return http::XendError(500,
                           "txend does not shut down or reboot the host; use the host's own tools");
  return http::XendError(501, "Operation not implemented: " + op);
}

http::HttpResponse XendApi::GetDomain(const std::string& dom, const http::HttpRequest& req) {
  auto r = toolstack_.queries().Get(dom);
  if (!r.ok()) return Failure(r.status());
  std::string op = req.params.GetOr("op", "");
  if (op == "migrate_progress") return SxpReply(200, migrations_.Progress(r->config->name));
  if (op == "vcpuinfo") {
    if (!r->info) return SxpReply(200, VcpuInfoSxp(*r, {}));
    auto vcpus = toolstack_.queries().Vcpus(std::to_string(r->info->domid));
    if (!vcpus.ok()) return Failure(vcpus.status());
    return SxpReply(200, VcpuInfoSxp(*r, *vcpus));
  }
  std::string text;
  toolstack::AppendDomainSxp(*r, text);
  return SxpText(std::move(text));
}

http::HandlerReply XendApi::GetEvents(const http::HttpRequest& req) {
  OpArgs args(req.params);
  toolstack::DomainEvents& events = toolstack_.events();
  uint64_t since = events.Next();
  if (args.Has("since")) {
    auto given = args.NonNegative("since");
    if (!given.ok()) return Failure(given.status());
    since = *given;
  }
  double wait = 0;
  if (args.Has("wait")) {
    auto given = ParseDouble(TrimBlanks(*req.params.Get("wait")));
    if (!given.ok() || !(*given >= 0 && *given <= kMaxEventWaitSeconds))
      return http::XendError(400, "Invalid parameter: wait must be 0 to " +
                                      std::to_string(kMaxEventWaitSeconds) + " seconds");
    wait = *given;
  }
  auto timeout =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::duration<double>(wait));
  auto answer = [&events, since] { return SxpReply(200, EventsSxp(events.Since(since))); };
  if (timeout.count() == 0 || events.Next() > since) return answer();
  auto watch = [&events, since](std::function<void()> wake) {
    return events.NotifyFrom(since, std::move(wake));
  };
  return http::DeferredReply{timeout, std::move(watch), std::move(answer)};
}

http::HttpResponse XendApi::Post(const std::string& dom, const http::HttpRequest& req,
                                 const XendOp* (*find)(std::string_view)) {
  auto ops = req.params.GetAll("op");
  if (ops.size() != 1) return http::XendError(406, "Invalid request: exactly one op is needed");
  const XendOp* op = find(ops[0]);
  if (!op) return http::XendError(501, "Operation not implemented: " + ops[0]);
  OpCall call{toolstack_, xs_, migrations_, dom, OpArgs(req.params), req.peer != "unix"};
  auto body = op->run(call);
  if (!body.ok()) return Failure(body.status());
  return http::HttpResponse{op->status, "application/sxp", std::move(*body)};
}

}  // namespace txend::daemon
