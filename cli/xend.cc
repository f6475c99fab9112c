#include "cli/xend.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "base/numbers.h"

namespace txend::xm {
namespace {

std::string PathEncode(const std::string& s) {
  std::string out = FormEncode(s);
  for (size_t i = 0; (i = out.find('+', i)) != std::string::npos;) out.replace(i, 1, "%20");
  return out;
}

// The message of an `(xend.err '...')` body, or the body itself.
std::string XendMessage(const XendReply& reply) {
  auto v = sxp::Parse(reply.body);
  if (v.ok() && sxp::Name(*v) == "xend.err") {
    const sxp::Value* message = sxp::ChildAt(*v, 0);
    if (message && message->is_atom()) return message->atom();
  }
  if (!reply.body.empty()) return reply.body;
  return "xend answered HTTP " + std::to_string(reply.status);
}

// The ops that may take minutes: they build, tear down or copy a domain, or
// wait for its devices.
constexpr std::string_view kLongOps[] = {
    "create",         "restore", "save",    "dump",          "migrate",
    "start",          "reset",   "destroy", "device_create", "device_configure",
    "device_destroy", "shutdown"};

ReplyWait WaitFor(const Form& form) {
  for (const auto& [name, value] : form)
    if (name == "op")
      for (std::string_view op : kLongOps)
        if (value == op) return ReplyWait::kLong;
  return ReplyWait::kShort;
}

}  // namespace

Result<XendReply> Xend::Send(bool post, const std::string& target, const Form& form) {
  auto reply = post ? client_.Post(target, form, WaitFor(form)) : client_.Get(target);
  if (reply.ok()) return reply;
  const Status& st = reply.status();
  if (st.code() == ETIMEDOUT) return st;  // already says which wait ran out
  std::string why = st.code() ? std::strerror(st.code()) : st.message();
  if (st.code() == ECONNREFUSED || st.code() == ENOENT || st.code() == EACCES)
    return Status::Error(ENOTCONN, "Unable to connect to xend: " + why + ". Is xend running?");
  return Status::Error(ENOTCONN, "Unable to connect to xend: " + st.message() + ".");
}

Result<sxp::Value> Xend::Call(bool post, const std::string& target, const Form& form,
                              const std::string& ref) {
  TXEND_ASSIGN_OR_RETURN(XendReply reply, Send(post, target, form));
  if (reply.status == 404 && !ref.empty())
    return Status::Error(ESRCH, "Domain '" + ref + "' does not exist.");
  if (reply.status >= 300) return Status::Error(EREMOTEIO, XendMessage(reply));
  if (reply.body.empty()) return sxp::Value();
  auto v = sxp::Parse(reply.body);
  return v.ok() ? *std::move(v) : sxp::Value(reply.body);
}

Result<sxp::Value> Xend::Domain(const std::string& ref) {
  return Call(false, "/xend/domain/" + PathEncode(ref) + "?detail=1", {}, ref);
}

Result<std::vector<sxp::Value>> Xend::Domains(const std::string& state) {
  TXEND_ASSIGN_OR_RETURN(sxp::Value all,
                         Call(false, "/xend/domain?detail=1&state=" + PathEncode(state), {}, ""));
  if (!all.is_list()) return Status::Error(EREMOTEIO, "xend sent a domain list that is not a list");
  return std::move(all.items());
}

Result<std::string> Xend::DomainsText(const std::string& state) {
  TXEND_ASSIGN_OR_RETURN(XendReply reply,
                         Send(false, "/xend/domain?detail=1&state=" + PathEncode(state), {}));
  if (reply.status >= 300) return Status::Error(EREMOTEIO, XendMessage(reply));
  return std::move(reply.body);
}

Result<sxp::Value> Xend::VcpuInfo(const std::string& ref) {
  return Call(false, "/xend/domain/" + PathEncode(ref) + "?op=vcpuinfo", {}, ref);
}

Result<sxp::Value> Xend::Node() { return Call(false, "/xend/node/", {}, ""); }

Result<std::string> Xend::NodeText(const std::string& what) {
  TXEND_ASSIGN_OR_RETURN(XendReply reply, Send(false, "/xend/node/" + what, {}));
  if (reply.status >= 300) return Status::Error(EREMOTEIO, XendMessage(reply));
  return reply.body;
}

Result<sxp::Value> Xend::NodeSxp(const std::string& what) {
  return Call(false, "/xend/node/" + what, {}, "");
}

Status Xend::ClearDmesg() { return Call(true, "/xend/node/dmesg", {{"op", "clear"}}, "").status(); }

Result<sxp::Value> Xend::PostDomains(const Form& form) {
  return Call(true, "/xend/domain/", form, "");
}

Result<sxp::Value> Xend::PostDomain(const std::string& ref, const Form& form) {
  return Call(true, "/xend/domain/" + PathEncode(ref), form, ref);
}

namespace {

// (events (next N) (lost 0|1) (event ...) ...) as DomainChanges.
Result<DomainChanges> ChangesOf(const sxp::Value& v) {
  auto next = ParseInteger<uint64_t>(sxp::ChildValue(v, "next"));
  if (sxp::Name(v) != "events" || !next.ok())
    return Status::Error(EREMOTEIO, "xend sent events without a (next N)");
  bool lost = sxp::ChildValue(v, "lost") == "1";
  return DomainChanges{*next, lost || !sxp::Children(v, "event").empty()};
}

}  // namespace

Result<uint64_t> Xend::ChangesStart() {
  TXEND_ASSIGN_OR_RETURN(sxp::Value v, Call(false, "/xend/events", {}, ""));
  TXEND_ASSIGN_OR_RETURN(DomainChanges changes, ChangesOf(v));
  return changes.next;
}

Result<DomainChanges> Xend::WaitForChanges(uint64_t since) {
  // Long enough that an idle wait costs nothing, short enough to end well
  // before the reply deadline (XM_TIMEOUT may shorten it).
  auto wait = std::min<std::chrono::milliseconds>(std::chrono::seconds(10),
                                                  client_.timeouts().reply * 4 / 5);
  char seconds[32];
  snprintf(seconds, sizeof seconds, "%.3f", static_cast<double>(wait.count()) / 1000);
  TXEND_ASSIGN_OR_RETURN(
      sxp::Value v,
      Call(false, "/xend/events?since=" + std::to_string(since) + "&wait=" + seconds, {}, ""));
  return ChangesOf(v);
}

}  // namespace txend::xm
