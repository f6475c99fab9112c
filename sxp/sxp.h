// SXP: the s-expressions xend speaks (Xen's tools/python/xen/xend/sxp.py and
// PrettyPrint.py): values, a bounded parser, xend's compact and pretty printers,
// and the accessors xend code uses everywhere (name, child, child_value, children).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/result.h"

namespace txend::sxp {

// An atom (a byte string) or a list of values. Atoms convert implicitly from strings,
// so `Value::List({"vm", Value::List({"name", "demo"})})` builds `(vm (name demo))`.
class Value {
 public:
  using Items = std::vector<Value>;

  Value() : v_(Items{}) {}                                 // the empty list
  Value(std::string atom) : v_(std::move(atom)) {}         // NOLINT: implicit by design
  Value(const char* atom) : v_(std::string(atom)) {}       // NOLINT
  Value(std::string_view atom) : v_(std::string(atom)) {}  // NOLINT
  static Value List(Items items = {}) { return Value(std::move(items)); }
  // The decimal atom of an integer ("42").
  static Value Int(int64_t n) { return Value(std::to_string(n)); }

  bool is_atom() const { return v_.index() == 0; }
  bool is_list() const { return v_.index() == 1; }
  // Precondition: is_atom() / is_list().
  const std::string& atom() const { return std::get<0>(v_); }
  const Items& items() const { return std::get<1>(v_); }
  Items& items() { return std::get<1>(v_); }
  // Appends to a list (precondition: is_list()); returns *this for chaining.
  Value& Add(Value v);

  bool operator==(const Value& other) const = default;

 private:
  explicit Value(Items items) : v_(std::move(items)) {}
  std::variant<std::string, Items> v_;
};

// --- accessors (sxp.py semantics; "children" are a list's items after its name) ---

// First item of a list when it is an atom ("vm" for `(vm ...)`); "" otherwise.
std::string_view Name(const Value& v);
// The first child list named `name`, or nullptr.
const Value* Child(const Value& list, std::string_view name);
// All child lists named `name`, in order.
std::vector<const Value*> Children(const Value& list, std::string_view name);
// The child at `index` (0 = first item after the name), or nullptr.
const Value* ChildAt(const Value& list, size_t index);
// The first item after the name of child `name` when that item is an atom:
// `(memory 512)` -> "512". nullopt when absent, empty `(memory)`, or a list.
std::optional<std::string> FindChildValue(const Value& list, std::string_view name);
// FindChildValue, or `fallback`.
std::string ChildValue(const Value& list, std::string_view name, std::string_view fallback = "");

// --- parsing ---

// Bounds that keep hostile input from exhausting memory or the stack.
struct ParseLimits {
  size_t max_bytes = 16 << 20;
  int max_depth = 256;
};

// Parses exactly one value (surrounding whitespace and # comments allowed).
// Errors are EINVAL "sxp:LINE:COL: what" (E2BIG when over a limit).
Result<Value> Parse(std::string_view text, const ParseLimits& limits = {});
// Parses a sequence of values (sxp.all_from_string); empty input yields none.
Result<std::vector<Value>> ParseAll(std::string_view text, const ParseLimits& limits = {});

// --- printing ---

// True when xend prints `s` bare: non-empty, only [A-Za-z0-9.-_:/~] (or "@").
bool IsBareAtom(std::string_view s);
// Python 2 repr() of a byte string: 'a b', "it's", 'tab\t', '\xc3'.
std::string PythonRepr(std::string_view s);
// Single-quoted with PythonRepr's escapes, whatever the text: the only quoting
// libvirt's SXP reader understands.
std::string QuoteAtom(std::string_view s);
// An atom as xend writes it: bare, or QuoteAtom quoting.
std::string FormatAtom(std::string_view s);
// One line, single spaces (sxp.to_string / sxp.show).
std::string ToString(const Value& v);
// ToString and FormatAtom appended to `out`: many values printed into one buffer.
void AppendTo(const Value& v, std::string& out);
void AppendAtom(std::string_view s, std::string& out);
// xend's PrettyPrint.prettyprint: lists that fit in `width` columns stay on one
// line, others put each item on its own line indented 4 more and the closing
// parenthesis on a line of its own. Ends with a newline, like xend's output.
std::string PrettyPrint(const Value& v, int width = 80);

}  // namespace txend::sxp
