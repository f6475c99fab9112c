#include "http/request_decoder.h"

namespace txend::http {
namespace {

namespace bhttp = boost::beast::http;

// A page of another site made this request: the browser's Origin names another host (or
// port) than the request's Host, or is "null" (sandboxed and opaque pages). No Origin: not
// sent by a page (xm, libvirt, curl), or a same-origin GET.
bool CrossSite(const BeastRequest& req) {
  auto origin = req[bhttp::field::origin];
  if (origin.empty()) return false;
  auto scheme_end = origin.find("://");
  if (scheme_end == boost::beast::string_view::npos) return true;
  return origin.substr(scheme_end + 3) != req[bhttp::field::host];
}

}  // namespace

Result<HttpRequest> DecodeRequest(const BeastRequest& req, const std::string& peer) {
  HttpRequest out;
  out.method = std::string(req.method_string());
  TXEND_ASSIGN_OR_RETURN(auto target,
                         ParseTarget(std::string_view(req.target().data(), req.target().size())));
  out.path = std::move(target.first);
  out.params = std::move(target.second);
  out.body = req.body();
  out.peer = peer;
  auto accept = req[bhttp::field::accept];
  out.wants_sxp = req[bhttp::field::user_agent].empty() || accept.empty() ||
                  accept.find("application/sxp") != boost::beast::string_view::npos;
  out.cross_site = CrossSite(req);
  auto ctype = req[bhttp::field::content_type];
  if (out.method == "POST" &&
      (ctype.empty() || ctype.starts_with("application/x-www-form-urlencoded"))) {
    TXEND_ASSIGN_OR_RETURN(Params form, ParseForm(out.body));
    out.params.Merge(form);
  }
  return out;
}

}  // namespace txend::http
