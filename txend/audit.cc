#include "txend/audit.h"

#include <algorithm>

namespace txend::daemon {
namespace {

constexpr size_t kMaxResultBytes = 300;

// An error reply's message on one line, bounded; "ok" for a success.
std::string Outcome(const http::HttpResponse& response) {
  if (response.status < 400) return "ok";
  std::string text = response.body.substr(0, kMaxResultBytes);
  std::replace_if(
      text.begin(), text.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  return text;
}

}  // namespace

std::optional<std::string> AuditLine(const http::HttpRequest& request,
                                     const http::HttpResponse& response) {
  if (request.method == "GET" || request.method == "HEAD") return std::nullopt;
  return "audit: " + request.identity + " " + request.method + " " + request.path +
         " op=" + request.params.GetOr("op", "") + ": " + std::to_string(response.status) + " " +
         Outcome(response);
}

}  // namespace txend::daemon
