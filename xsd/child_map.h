// ChildMap: a node's children by name, as a persistent AVL tree. Copying a map
// is O(1) and shares every entry; a change copies only the O(log n) entries on
// its path that another copy still shares and updates unshared ones in place,
// so a copy-on-write node costs the same whatever its number of children.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace txend::xsd {

struct Node;
using NodePtr = std::shared_ptr<Node>;

class ChildMap {
 public:
  // The child named `name`, or nullptr.
  const NodePtr* Find(std::string_view name) const;
  // The slot of `name` (nullptr when absent), with the entries on its path
  // made unshared so the slot may be reassigned. A miss unshares the path an
  // Insert of `name` would copy anyway.
  NodePtr* FindMutable(std::string_view name);
  // Sets `name` to `child` (adding it when absent) and returns its slot.
  NodePtr* Insert(std::string_view name, NodePtr child);
  // Removes `name`; false when it was absent.
  bool Erase(std::string_view name);

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Calls visit(name, child) for every child, in name order.
  template <typename Visit>
  void ForEach(Visit&& visit) const {
    Walk(root_.get(), visit);
  }

 private:
  struct Entry;
  using EntryPtr = std::shared_ptr<Entry>;
  struct Entry {
    std::string name;
    NodePtr child;
    EntryPtr left, right;
    int height = 1;
  };
  template <typename Visit>
  static void Walk(const Entry* e, Visit& visit) {
    if (!e) return;
    Walk(e->left.get(), visit);
    visit(static_cast<const std::string&>(e->name), static_cast<const NodePtr&>(e->child));
    Walk(e->right.get(), visit);
  }
  static Entry* Own(EntryPtr& slot);
  static int Height(const EntryPtr& e) { return e ? e->height : 0; }
  static void Fix(Entry* e);
  static void RotateLeft(EntryPtr& slot);
  static void RotateRight(EntryPtr& slot);
  static void Rebalance(EntryPtr& slot);
  static bool Insert(EntryPtr& slot, std::string_view name, NodePtr& child);
  static bool Erase(EntryPtr& slot, std::string_view name);
  static void EraseMin(EntryPtr& slot);

  EntryPtr root_;
  size_t size_ = 0;
};

}  // namespace txend::xsd
