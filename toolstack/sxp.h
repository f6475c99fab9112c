// SXP: the S-expressions of xend's HTTP API and config files (xend's sxp.py).
// A Value is an atom (a string) or a list of Values. Parse accepts what xend
// accepted ('#' comments, '...' and "..." strings with C-style, \xHH and octal
// escapes); Show prints what xend printed — bare atoms where xend's atomp()
// allowed them, otherwise single-quoted with backslash escapes (always single
// quotes: libvirt reads no other form); PrettyPrint lays out long lists over
// several lines, as `xm list --long` did.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace txend::sxp {

class Value {
 public:
  Value() = default;  // the empty list
  static Value Atom(std::string text);
  static Value List(std::vector<Value> items = {});
  // (name value): the usual key/value pair.
  static Value Pair(std::string name, std::string value);

  bool is_atom() const { return !is_list_; }
  bool is_list() const { return is_list_; }
  const std::string& atom() const { return atom_; }
  const std::vector<Value>& items() const { return items_; }

  // The atom itself, or a list's first item when that is an atom; else "".
  std::string_view name() const;
  // First child list named `name` (items after the first), or nullptr.
  const Value* Child(std::string_view name) const;
  // Every child list named `name`; all child values when `name` is empty.
  std::vector<const Value*> Children(std::string_view name = {}) const;
  // The atom after `name` in the first child named `name`: (name value).
  std::optional<std::string> Find(std::string_view name) const;
  std::string Get(std::string_view name, std::string fallback = "") const;

  // Appends and returns *this, for building: List().Add(Pair("a","1")).
  Value& Add(Value item);
  Value& Add(std::string name, std::string value) { return Add(Pair(std::move(name), std::move(value))); }

  bool operator==(const Value&) const = default;

 private:
  bool is_list_ = true;
  std::string atom_;
  std::vector<Value> items_;
};

// Parses exactly one value; EINVAL with line:column for bad input.
Result<Value> Parse(std::string_view text);
// Parses every top-level value in `text`.
Result<std::vector<Value>> ParseAll(std::string_view text);

// One line, as xend's sxp.show.
std::string Show(const Value& value);
// xend's atom quoting alone: bare when atomp() allows, else '...'; '' when empty.
std::string Quote(std::string_view atom);
// Several lines when a list does not fit in `width` columns: leading atoms
// on the opening line, each other child on its own line indented by 4, the
// closing paren on a line of its own (as `xm list --long` printed).
std::string PrettyPrint(const Value& value, int width = 80);

}  // namespace txend::sxp
