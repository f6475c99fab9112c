#include "http/http_message.h"

#include "sxp/sxp.h"

namespace txend::http {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

void Params::Add(std::string name, std::string value) {
  entries_.emplace_back(std::move(name), std::move(value));
}

std::optional<std::string> Params::Get(std::string_view name) const {
  for (const auto& [k, v] : entries_)
    if (k == name) return v;
  return std::nullopt;
}

std::string Params::GetOr(std::string_view name, std::string fallback) const {
  auto v = Get(name);
  return v ? *v : std::move(fallback);
}

std::vector<std::string> Params::GetAll(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : entries_)
    if (k == name) out.push_back(v);
  return out;
}

void Params::Merge(const Params& other) {
  entries_.insert(entries_.end(), other.entries_.begin(), other.entries_.end());
}

Result<std::string> UrlDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      int hi = i + 2 < text.size() ? HexValue(text[i + 1]) : -1;
      int lo = i + 2 < text.size() ? HexValue(text[i + 2]) : -1;
      if (hi < 0 || lo < 0)
        return Status::Error(EINVAL, "malformed %-escape in '" + std::string(text) + "'");
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

Result<Params> ParseForm(std::string_view text) {
  Params params;
  while (!text.empty()) {
    size_t amp = text.find('&');
    std::string_view pair = text.substr(0, amp);
    text = amp == std::string_view::npos ? std::string_view() : text.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    TXEND_ASSIGN_OR_RETURN(std::string name, UrlDecode(pair.substr(0, eq)));
    std::string value;
    if (eq != std::string_view::npos) {
      TXEND_ASSIGN_OR_RETURN(value, UrlDecode(pair.substr(eq + 1)));
    }
    params.Add(std::move(name), std::move(value));
  }
  return params;
}

Result<std::pair<std::string, Params>> ParseTarget(std::string_view target) {
  size_t q = target.find('?');
  std::string_view raw_path = target.substr(0, q);
  if (raw_path.empty() || raw_path[0] != '/')
    return Status::Error(EINVAL, "request path must start with '/'");
  // '+' is literal in paths; only %-escapes are decoded there.
  std::string path;
  for (size_t i = 0; i < raw_path.size(); ++i) {
    if (raw_path[i] == '%') {
      TXEND_ASSIGN_OR_RETURN(std::string decoded, UrlDecode(raw_path.substr(i, 3)));
      path += decoded;
      i += 2;
    } else {
      path.push_back(raw_path[i]);
    }
  }
  Params params;
  if (q != std::string_view::npos) {
    TXEND_ASSIGN_OR_RETURN(params, ParseForm(target.substr(q + 1)));
  }
  return std::make_pair(std::move(path), std::move(params));
}

HttpResponse XendError(int status, const std::string& message) {
  return HttpResponse{status, "application/sxp", "(xend.err " + sxp::FormatAtom(message) + ")"};
}

}  // namespace txend::http
