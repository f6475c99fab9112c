// Reading a Tape: atoms, the sxp.py accessors, and conversion to Values.
#include "sxp/tape.h"

namespace txend::sxp {

std::string_view Tape::atom(Index i) const {
  const Node& n = nodes_[i];
  std::string_view from = n.kind() == Kind::kDecoded ? std::string_view(decoded_) : text_;
  return from.substr(n.first, n.count());
}

std::optional<Tape::Index> Tape::Child(Index list, std::string_view name) const {
  if (!is_list(list) || size(list) == 0) return std::nullopt;
  Index item = next(list + 1);  // after the list's name
  for (size_t k = 1; k < size(list); ++k, item = next(item)) {
    if (is_list(item) && size(item) > 0 && !is_list(item + 1) && atom(item + 1) == name)
      return item;
  }
  return std::nullopt;
}

std::optional<std::string_view> Tape::FindChildValue(Index list, std::string_view name) const {
  std::optional<Index> kid = Child(list, name);
  if (!kid || size(*kid) < 2) return std::nullopt;
  Index first = next(*kid + 1);
  if (is_list(first)) return std::nullopt;
  return atom(first);
}

Value Tape::ToValue(Index i) const {
  if (!is_list(i)) return Value(atom(i));
  Value::Items items;
  items.reserve(size(i));
  for (Index item = i + 1; item < next(i); item = next(item)) items.push_back(ToValue(item));
  return Value::List(std::move(items));
}

}  // namespace txend::sxp
