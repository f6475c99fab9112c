#include "tests/support/libvirt_sexpr.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>

namespace txend::testing {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// _string2sexpr from `pos`; advances it past what it read.
LvSexpr ParseAt(std::string_view text, size_t& pos) {
  while (pos < text.size() && IsSpace(text[pos])) ++pos;
  if (pos < text.size() && text[pos] == '(') {
    LvSexpr list = LvSexpr::List();
    ++pos;
    while (pos < text.size() && IsSpace(text[pos])) ++pos;
    while (pos < text.size() && text[pos] != ')') {
      list.items.push_back(ParseAt(text, pos));
      while (pos < text.size() && IsSpace(text[pos])) ++pos;
    }
    if (pos < text.size()) ++pos;  // ')'
    return list;
  }
  size_t start = pos;
  if (pos < text.size() && text[pos] == '\'') {
    start = ++pos;
    while (pos < text.size() && text[pos] != '\'') {
      if (text[pos] == '\\' && pos + 1 < text.size()) ++pos;
      ++pos;
    }
    LvSexpr atom = LvSexpr::Atom(std::string(text.substr(start, pos - start)));
    if (pos < text.size()) ++pos;  // closing quote
    return atom;
  }
  while (pos < text.size() && !std::isspace(static_cast<unsigned char>(text[pos])) &&
         text[pos] != '(' && text[pos] != ')')
    ++pos;
  return LvSexpr::Atom(std::string(text.substr(start, pos - start)));
}

std::vector<std::string_view> Tokens(std::string_view path) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t slash; (slash = path.find('/', start)) != std::string_view::npos; start = slash + 1)
    out.push_back(path.substr(start, slash - start));
  out.push_back(path.substr(start));
  return out;
}

}  // namespace

LvSexpr LvParse(std::string_view text) {
  size_t pos = 0;
  return ParseAt(text, pos);
}

std::string LvToString(const LvSexpr& s) {
  if (s.is_atom) {
    bool quote = s.atom.find_first_of(" ()") != std::string::npos;
    return quote ? "'" + s.atom + "'" : s.atom;
  }
  if (s.items.empty()) return "()";
  std::string out = "(";
  for (size_t i = 0; i < s.items.size(); ++i) out += (i ? " " : "") + LvToString(s.items[i]);
  return out + ")";
}

const LvSexpr* LvLookupKey(const LvSexpr& root, std::string_view path) {
  std::vector<std::string_view> tokens = Tokens(path);
  if (root.is_atom || root.items.empty() || !root.items[0].is_atom ||
      root.items[0].atom != tokens[0])
    return nullptr;
  const LvSexpr* node = &root;
  for (size_t t = 1; t < tokens.size(); ++t) {
    const LvSexpr* found = nullptr;
    for (size_t i = 1; i < node->items.size() && !found; ++i) {
      const LvSexpr& child = node->items[i];
      if (!child.is_atom && !child.items.empty() && child.items[0].is_atom &&
          child.items[0].atom == tokens[t])
        found = &child;
    }
    if (!found) return nullptr;
    node = found;
  }
  return node;
}

LvSexpr* LvLookupKey(LvSexpr& root, std::string_view path) {
  return const_cast<LvSexpr*>(LvLookupKey(static_cast<const LvSexpr&>(root), path));
}

bool LvHas(const LvSexpr& root, std::string_view path) {
  const LvSexpr* key = LvLookupKey(root, path);
  return key != nullptr && !key->is_atom && !key->items.empty();
}

bool LvLookup(const LvSexpr& root, std::string_view path) {
  const LvSexpr* key = LvLookupKey(root, path);
  return key != nullptr && key->items.size() >= 2;
}

std::optional<std::string> LvNode(const LvSexpr& root, std::string_view path) {
  const LvSexpr* key = LvLookupKey(root, path);
  if (key == nullptr || key->items.size() < 2 || !key->items[1].is_atom) return std::nullopt;
  return key->items[1].atom;
}

std::optional<std::string> LvNodeCopy(const LvSexpr& root, std::string_view path) {
  auto value = LvNode(root, path);
  if (value && value->empty()) return std::nullopt;
  return value;
}

int LvInt(const LvSexpr& root, std::string_view path) {
  auto value = LvNode(root, path);
  if (!value) return 0;
  errno = 0;
  char* end = nullptr;
  long v = std::strtol(value->c_str(), &end, 0);
  if (errno || end == value->c_str() || *end != '\0') return 0;  // virStrToLong_i
  return static_cast<int>(v);
}

uint64_t LvU64(const LvSexpr& root, std::string_view path) {
  auto value = LvNode(root, path);
  if (!value || value->starts_with('-')) return 0;
  errno = 0;
  char* end = nullptr;
  unsigned long long v = std::strtoull(value->c_str(), &end, 0);
  if (errno || end == value->c_str() || *end != '\0') return 0;
  return v;
}

}  // namespace txend::testing
