#include "xsd/child_map.h"

#include <algorithm>

namespace txend::xsd {
namespace {

// Byte order, as std::string's compare gives it, inlined: names are short,
// and a lookup compares one per level of the tree.
int Order(std::string_view a, std::string_view b) {
  size_t common = std::min(a.size(), b.size());
  for (size_t i = 0; i < common; ++i) {
    auto x = static_cast<unsigned char>(a[i]), y = static_cast<unsigned char>(b[i]);
    if (x != y) return x < y ? -1 : 1;
  }
  return a.size() == b.size() ? 0 : a.size() < b.size() ? -1 : 1;
}

}  // namespace

// Makes `slot` point at an entry no other map shares, copying it if needed.
ChildMap::Entry* ChildMap::Own(EntryPtr& slot) {
  if (slot.use_count() > 1) slot = std::make_shared<Entry>(*slot);
  return slot.get();
}

void ChildMap::Fix(Entry* e) { e->height = 1 + std::max(Height(e->left), Height(e->right)); }

// The right child of `slot`'s entry takes its place; `slot`'s entry is owned.
void ChildMap::RotateLeft(EntryPtr& slot) {
  EntryPtr top = std::move(slot);
  Own(top->right);
  EntryPtr right = std::move(top->right);
  top->right = std::move(right->left);
  Fix(top.get());
  right->left = std::move(top);
  Fix(right.get());
  slot = std::move(right);
}

// The left child of `slot`'s entry takes its place; `slot`'s entry is owned.
void ChildMap::RotateRight(EntryPtr& slot) {
  EntryPtr top = std::move(slot);
  Own(top->left);
  EntryPtr left = std::move(top->left);
  top->left = std::move(left->right);
  Fix(top.get());
  left->right = std::move(top);
  Fix(left.get());
  slot = std::move(left);
}

// Restores the AVL balance at `slot`, whose entry is owned and whose subtrees
// differ in height by at most 2.
void ChildMap::Rebalance(EntryPtr& slot) {
  Entry* e = slot.get();
  Fix(e);
  int balance = Height(e->left) - Height(e->right);
  if (balance > 1) {
    if (Height(e->left->left) < Height(e->left->right)) {
      Own(e->left);
      RotateLeft(e->left);
    }
    RotateRight(slot);
  } else if (balance < -1) {
    if (Height(e->right->right) < Height(e->right->left)) {
      Own(e->right);
      RotateRight(e->right);
    }
    RotateLeft(slot);
  }
}

// True when `name` was added (false: an existing entry took `child`).
bool ChildMap::Insert(EntryPtr& slot, std::string_view name, NodePtr& child) {
  if (!slot) {
    slot = std::make_shared<Entry>(Entry{std::string(name), std::move(child), nullptr, nullptr, 1});
    return true;
  }
  Entry* e = Own(slot);
  int order = Order(name, e->name);
  if (order == 0) {
    e->child = std::move(child);
    return false;
  }
  bool added = Insert(order < 0 ? e->left : e->right, name, child);
  if (added) Rebalance(slot);
  return added;
}

// Removes the smallest entry of the (non-empty) subtree at `slot`.
void ChildMap::EraseMin(EntryPtr& slot) {
  Entry* e = Own(slot);
  if (!e->left) {
    EntryPtr right = std::move(e->right);
    slot = std::move(right);
    return;
  }
  EraseMin(e->left);
  Rebalance(slot);
}

bool ChildMap::Erase(EntryPtr& slot, std::string_view name) {
  if (!slot) return false;
  Entry* e = Own(slot);
  int order = Order(name, e->name);
  if (order != 0) {
    if (!Erase(order < 0 ? e->left : e->right, name)) return false;
  } else if (!e->left || !e->right) {
    EntryPtr only = std::move(e->left ? e->left : e->right);
    slot = std::move(only);
    return true;
  } else {
    const Entry* next = e->right.get();
    while (next->left) next = next->left.get();
    e->name = next->name;
    e->child = next->child;
    EraseMin(e->right);
  }
  Rebalance(slot);
  return true;
}

const NodePtr* ChildMap::Find(std::string_view name) const {
  const Entry* e = root_.get();
  while (e) {
    int order = Order(name, e->name);
    if (order == 0) return &e->child;
    e = (order < 0 ? e->left : e->right).get();
  }
  return nullptr;
}

NodePtr* ChildMap::FindMutable(std::string_view name) {
  for (EntryPtr* slot = &root_; *slot;) {
    Entry* e = Own(*slot);
    int order = Order(name, e->name);
    if (order == 0) return &e->child;
    slot = order < 0 ? &e->left : &e->right;
  }
  return nullptr;
}

NodePtr* ChildMap::Insert(std::string_view name, NodePtr child) {
  if (Insert(root_, name, child)) ++size_;
  return FindMutable(name);
}

bool ChildMap::Erase(std::string_view name) {
  if (!Find(name)) return false;
  Erase(root_, name);
  --size_;
  return true;
}

}  // namespace txend::xsd
