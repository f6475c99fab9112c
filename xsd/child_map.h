// ChildMap: a node's children by name, as a persistent B+tree of wide pages:
// a directory of up to kPageSlots children is one sorted page, a larger one a
// few levels of them, so a lookup reads a few cache lines per level rather
// than one scattered entry per comparison. Copying a map is O(1) and shares
// every page; a change copies only the pages on its path that another copy
// still shares and updates unshared ones in place, so a copy-on-write node
// costs the same whatever its number of children.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace txend::xsd {

struct Node;
using NodePtr = std::shared_ptr<Node>;

class ChildMap {
 public:
  // Most slots in a page; a page other than the root keeps at least half.
  static constexpr size_t kPageSlots = 16;

  // The child named `name`, or nullptr.
  const Node* Find(std::string_view name) const;
  // The child named `name` (nullptr when absent) made unshared, copied if
  // another map holds it, as are the pages on its path. A miss unshares the
  // path an Insert of `name` would copy anyway.
  Node* FindMutable(std::string_view name);
  // Sets `name` to `child` (adding it when absent) and returns the child.
  Node* Insert(std::string_view name, NodePtr child);
  // Removes `name`; false when it was absent.
  bool Erase(std::string_view name);

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Calls visit(name, child) for every child, in byte order of names.
  template <typename Visit>
  void ForEach(Visit&& visit) const {
    if (root_) Walk(*root_, visit);
  }

 private:
  struct Page;
  using PagePtr = std::shared_ptr<Page>;
  // In a leaf: a child and its name. In an inner page: a page below and a
  // name above every name left of it and at most the least one in it: the
  // same name as the parent's slot for the page when it is the first slot,
  // so slots move between neighbouring pages unchanged (the leftmost pages'
  // first slots never move).
  struct Slot {
    std::string name;
    NodePtr child;
    PagePtr below;
  };
  // slots[i].child (leaf) or slots[i].below, unowned: what a walk follows.
  union Target {
    Node* node;
    Page* page;
  };
  // Slots in name order. Beside them, in the page itself, each slot's key
  // (KeyOf in child_map.cc) and target, so a walk through a page reads its
  // own few cache lines, all fetched at once, and no slot.
  struct Page {
    bool leaf = true;
    std::vector<Slot> slots;
    std::array<uint64_t, kPageSlots> keys{};
    std::array<Target, kPageSlots> targets{};
  };

  template <typename Visit>
  static void Walk(const Page& page, Visit& visit) {
    for (const Slot& s : page.slots) {
      if (page.leaf)
        visit(static_cast<const std::string&>(s.name), static_cast<const NodePtr&>(s.child));
      else
        Walk(*s.below, visit);
    }
  }
  static Page* Own(PagePtr& page);
  static Page* OwnBelow(Page& page, size_t i);
  static void Sync(Page& page, size_t i);
  // Where a name falls in a page: how many slots have a smaller or equal
  // name, and whether the last of those is the name itself.
  struct Place {
    size_t below;
    bool found;
  };
  static Place Search(const Page& page, std::string_view name, uint64_t key);
  static void Put(Page& page, size_t i, Slot slot);
  static Slot Take(Page& page, size_t i);
  static PagePtr PutOrSplit(Page& page, size_t i, Slot slot);
  static PagePtr Insert(Page& page, std::string_view name, uint64_t key, NodePtr& child,
                        bool* added);
  static void Erase(Page& page, std::string_view name, uint64_t key);
  static void Refill(Page& parent, size_t i);

  PagePtr root_;
  size_t size_ = 0;
};

}  // namespace txend::xsd
