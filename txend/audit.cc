#include "txend/audit.h"

#include <string_view>

namespace txend::daemon {
namespace {

constexpr size_t kMaxFieldBytes = 300;

// What a client sent, on one line and bounded: control bytes (newlines, escapes,
// DEL) become '?', so a request can neither split nor forge audit lines.
std::string OneLine(std::string_view text) {
  std::string out(text.substr(0, kMaxFieldBytes));
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  if (text.size() > kMaxFieldBytes) out += "...";
  return out;
}

// An error reply's message; "ok" for a success.
std::string Outcome(const http::HttpResponse& response) {
  return response.status < 400 ? "ok" : OneLine(response.body);
}

}  // namespace

std::optional<std::string> AuditLine(const http::HttpRequest& request,
                                     const http::HttpResponse& response) {
  if (request.is_read()) return std::nullopt;
  return "audit: " + OneLine(request.identity) + " " + OneLine(request.method) + " " +
         OneLine(request.path) + " op=" + OneLine(request.params.GetOr("op", "")) + ": " +
         std::to_string(response.status) + " " + Outcome(response);
}

}  // namespace txend::daemon
