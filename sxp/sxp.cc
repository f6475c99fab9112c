// SXP values and the sxp.py-style accessors.
#include "sxp/sxp.h"

namespace txend::sxp {

Value& Value::Add(Value v) {
  items().push_back(std::move(v));
  return *this;
}

std::string_view Name(const Value& v) {
  if (!v.is_list() || v.items().empty() || !v.items()[0].is_atom()) return {};
  return v.items()[0].atom();
}

const Value* Child(const Value& list, std::string_view name) {
  if (!list.is_list()) return nullptr;
  const auto& items = list.items();
  for (size_t i = 1; i < items.size(); ++i)
    if (items[i].is_list() && Name(items[i]) == name) return &items[i];
  return nullptr;
}

std::vector<const Value*> Children(const Value& list, std::string_view name) {
  std::vector<const Value*> out;
  if (!list.is_list()) return out;
  const auto& items = list.items();
  for (size_t i = 1; i < items.size(); ++i)
    if (items[i].is_list() && Name(items[i]) == name) out.push_back(&items[i]);
  return out;
}

const Value* ChildAt(const Value& list, size_t index) {
  if (!list.is_list() || index + 1 >= list.items().size()) return nullptr;
  return &list.items()[index + 1];
}

std::optional<std::string> FindChildValue(const Value& list, std::string_view name) {
  const Value* kid = Child(list, name);
  if (kid == nullptr) return std::nullopt;
  const Value* first = ChildAt(*kid, 0);
  if (first == nullptr || !first->is_atom()) return std::nullopt;
  return first->atom();
}

std::string ChildValue(const Value& list, std::string_view name, std::string_view fallback) {
  auto v = FindChildValue(list, name);
  return v ? *v : std::string(fallback);
}

}  // namespace txend::sxp
