#include "http/request_decoder.h"

namespace txend::http {

Result<HttpRequest> DecodeRequest(const BeastRequest& req, const std::string& peer) {
  namespace bhttp = boost::beast::http;
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
  auto ctype = req[bhttp::field::content_type];
  if (out.method == "POST" &&
      (ctype.empty() || ctype.starts_with("application/x-www-form-urlencoded"))) {
    TXEND_ASSIGN_OR_RETURN(Params form, ParseForm(out.body));
    out.params.Merge(form);
  }
  return out;
}

}  // namespace txend::http
