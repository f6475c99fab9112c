#include "xsd/path.h"

#include <algorithm>

#include "base/numbers.h"

namespace txend::xsd {
namespace {

constexpr std::string_view kLocalDomain = "/local/domain/";

bool ValidChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '/' || c == '_' || c == '@';
}

// Length of the "/local/domain/<id>/" prefix of `path`, or 0.
size_t DomainPrefixLength(std::string_view path) {
  if (!path.starts_with(kLocalDomain)) return 0;
  size_t end = path.find('/', kLocalDomain.size());
  if (end == std::string_view::npos || end == kLocalDomain.size()) return 0;
  return end + 1;
}

Status Invalid(std::string_view path, const std::string& why) {
  return Status::Error(EINVAL, "invalid path '" + std::string(path.substr(0, 64)) +
                                   (path.size() > 64 ? "...'" : "'") + ": " + why);
}

}  // namespace

std::string DomainPath(uint32_t domid) { return std::string(kLocalDomain) + std::to_string(domid); }

bool IsSpecialPath(std::string_view path) { return !path.empty() && path[0] == '@'; }

Result<std::string> Canonicalize(std::string_view path, uint32_t domid, bool allow_special,
                                 size_t max_length) {
  if (path.empty()) return Invalid(path, "empty");
  if (IsSpecialPath(path)) {
    if (!allow_special) return Invalid(path, "special paths are only for watches");
    for (char c : path.substr(1))
      if (!ValidChar(c) || c == '/') return Invalid(path, "bad character");
    return std::string(path);
  }
  std::string abs =
      path[0] == '/' ? std::string(path) : DomainPath(domid) + "/" + std::string(path);
  if (abs.size() > 1 && abs.back() == '/') return Invalid(path, "trailing '/'");
  if (abs.find("//") != std::string::npos) return Invalid(path, "'//'");
  for (char c : abs)
    if (!ValidChar(c)) return Invalid(path, "bad character");
  if (abs.size() - DomainPrefixLength(abs) > max_length) return Invalid(path, "too long");
  return abs;
}

std::string_view ParentPath(std::string_view path) {
  size_t slash = path.rfind('/');
  if (slash == 0 || slash == std::string_view::npos) return "/";
  return path.substr(0, slash);
}

std::string_view BaseName(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

bool IsAtOrBelow(std::string_view path, std::string_view ancestor) {
  if (ancestor == "/") return !path.empty() && path[0] == '/';
  if (!path.starts_with(ancestor)) return false;
  return path.size() == ancestor.size() || path[ancestor.size()] == '/';
}

std::vector<std::string_view> Components(std::string_view path) {
  std::vector<std::string_view> parts;
  parts.reserve(static_cast<size_t>(std::count(path.begin(), path.end(), '/')));
  ForEachComponent(path, [&](std::string_view part, size_t) {
    parts.push_back(part);
    return true;
  });
  return parts;
}

std::string ChildPath(std::string_view parent, std::string_view name) {
  std::string out(parent);
  if (out != "/") out.push_back('/');
  out.append(name);
  return out;
}

int64_t DomainOfPath(std::string_view path) {
  if (!path.starts_with(kLocalDomain)) return -1;
  std::string_view rest = path.substr(kLocalDomain.size());
  auto id = ParseInteger<uint32_t>(rest.substr(0, rest.find('/')));
  return id.ok() ? int64_t{*id} : -1;
}

}  // namespace txend::xsd
