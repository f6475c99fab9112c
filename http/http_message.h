// The HTTP request and response as txend's handlers see them: decoded path,
// query and form parameters in, status + body out. No I/O here.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace txend::http {

// Parameters from a query string or an x-www-form-urlencoded body. A name may
// repeat (xend's forms do, e.g. several `config` parts); order is kept.
class Params {
 public:
  void Add(std::string name, std::string value);
  // First value of `name`, if any.
  std::optional<std::string> Get(std::string_view name) const;
  std::string GetOr(std::string_view name, std::string fallback) const;
  std::vector<std::string> GetAll(std::string_view name) const;
  bool Has(std::string_view name) const { return Get(name).has_value(); }
  const std::vector<std::pair<std::string, std::string>>& entries() const { return entries_; }
  // Adds every parameter of `other` after ours.
  void Merge(const Params& other);

 private:
  std::vector<std::pair<std::string, std::string>> entries_;
};

// Decodes %XX escapes and '+' (as space). EINVAL on a malformed escape.
Result<std::string> UrlDecode(std::string_view text);
// "a=1&b=x+y" -> {a:1, b:"x y"}. EINVAL on malformed escapes.
Result<Params> ParseForm(std::string_view text);

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // decoded, without the query: "/xend/domain/demo"
  Params params;       // query parameters, then form-body parameters
  std::string body;    // raw body
  std::string peer;    // "unix" or the client's IP address
  // Who asked: "root via unix socket" (or "uid N via unix socket"), a TLS client
  // certificate's subject ("CN=admin,O=pool"), or "unauthenticated <address>".
  std::string identity;
  // xend's use_sxp rule: SXP unless the client sends a User-Agent and an Accept that does
  // not name application/sxp (a browser); then HTML.
  bool wants_sxp = true;
  // A browser sent it for a page of another site (its Origin header is not this server):
  // such a page must not change anything, whatever the caller may do.
  bool cross_site = false;

  // A GET or HEAD: it changes nothing.
  bool is_read() const { return method == "GET" || method == "HEAD"; }
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain";
  std::string body;
};

// An error reply as xend sent it: `status` and the body (xend.err "<message>").
HttpResponse XendError(int status, const std::string& message);

// Splits a request target "/a/b?x=1" into decoded path and query parameters.
Result<std::pair<std::string, Params>> ParseTarget(std::string_view target);

}  // namespace txend::http
