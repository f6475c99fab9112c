// Test support: S-expressions as libvirt's xend driver reads and writes them
// (facts from libvirt's src/util/virsexpr.c, not xend's rules):
// - reading: only single quotes quote; a backslash inside quotes keeps itself
//   and the next byte (nothing is unescaped); a bare atom ends at whitespace,
//   '(' or ')'; nothing is ever an error;
// - lookups: "domain/image/linux/kernel" takes the first child list with each
//   name; a node's value is the first item after its name, when it is an atom;
//   (key) with no value is found by Has() but has no value; integers are read
//   with strtol base 0 ("0x1f", "010" octal), 0 when unreadable;
// - writing (sexpr2string, used to re-send a reply): an atom is quoted '...'
//   only when it holds ' ', '(' or ')', never escaped; "" writes nothing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace txend::testing {

// An atom, or a list of nodes (an empty list is libvirt's NIL).
struct LvSexpr {
  bool is_atom = false;
  std::string atom;
  std::vector<LvSexpr> items;

  static LvSexpr Atom(std::string s) { return LvSexpr{true, std::move(s), {}}; }
  static LvSexpr List(std::vector<LvSexpr> items = {}) {
    return LvSexpr{false, "", std::move(items)};
  }
};

// string2sexpr: the first expression of `text`.
LvSexpr LvParse(std::string_view text);
// sexpr2string.
std::string LvToString(const LvSexpr& s);

// sexpr_lookup_key: the list `path` names ("domain/image/linux"), or nullptr.
LvSexpr* LvLookupKey(LvSexpr& root, std::string_view path);
const LvSexpr* LvLookupKey(const LvSexpr& root, std::string_view path);
// sexpr_has: the key exists (even as an empty (key)).
bool LvHas(const LvSexpr& root, std::string_view path);
// sexpr_lookup: the key exists and has something after its name.
bool LvLookup(const LvSexpr& root, std::string_view path);
// sexpr_node: the atom after the key's name, or nullopt.
std::optional<std::string> LvNode(const LvSexpr& root, std::string_view path);
// sexpr_node_copy: sexpr_node, with "" as absent.
std::optional<std::string> LvNodeCopy(const LvSexpr& root, std::string_view path);
// sexpr_int / sexpr_u64: strtol/strtoull base 0 of the node; 0 when absent or unreadable.
int LvInt(const LvSexpr& root, std::string_view path);
uint64_t LvU64(const LvSexpr& root, std::string_view path);

}  // namespace txend::testing
