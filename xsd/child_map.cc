#include "xsd/child_map.h"

#include <algorithm>

namespace txend::xsd {
namespace {

constexpr size_t kMinSlots = ChildMap::kPageSlots / 2;

// Byte order, as std::string's compare gives it, inlined: names are short.
int Order(std::string_view a, std::string_view b) {
  size_t common = std::min(a.size(), b.size());
  for (size_t i = 0; i < common; ++i) {
    auto x = static_cast<unsigned char>(a[i]), y = static_cast<unsigned char>(b[i]);
    if (x != y) return x < y ? -1 : 1;
  }
  return a.size() == b.size() ? 0 : a.size() < b.size() ? -1 : 1;
}

// The first 8 bytes of `name`, zero-padded, as a big-endian integer: when two
// names' keys differ, they order the names as their bytes do.
uint64_t KeyOf(std::string_view name) {
  uint64_t key = 0;
  for (size_t i = 0; i < 8; ++i)
    key = key << 8 | (i < name.size() ? static_cast<unsigned char>(name[i]) : 0);
  return key;
}

// Order(a, b) for names with the same key: their first 8 bytes are equal.
int TiedOrder(std::string_view a, std::string_view b) {
  if (int order =
          Order(a.substr(std::min<size_t>(a.size(), 8)), b.substr(std::min<size_t>(b.size(), 8))))
    return order;
  return a.size() == b.size() ? 0 : a.size() < b.size() ? -1 : 1;
}

}  // namespace

// Makes `page` point at a page no other map shares, copying it if needed.
ChildMap::Page* ChildMap::Own(PagePtr& page) {
  if (page.use_count() > 1) page = std::make_shared<Page>(*page);
  return page.get();
}

// Where `name` (whose key is `key`) falls among `page`'s slots: a binary
// search of the keys; only slots with the same key (names sharing their first
// 8 bytes) look at names, and then past those 8 bytes.
ChildMap::Place ChildMap::Search(const Page& page, std::string_view name, uint64_t key) {
  size_t n = page.slots.size();
  size_t i = std::lower_bound(page.keys.begin(), page.keys.begin() + n, key) - page.keys.begin();
  for (; i < n && page.keys[i] == key; ++i) {
    int order = TiedOrder(page.slots[i].name, name);
    if (order == 0) return {i + 1, true};
    if (order > 0) break;
  }
  return {i, false};
}

// Inserts `slot` at `i` in `page`, which has room.
void ChildMap::Put(Page& page, size_t i, Slot slot) {
  size_t n = page.slots.size();
  std::copy_backward(page.keys.begin() + i, page.keys.begin() + n, page.keys.begin() + n + 1);
  page.keys[i] = KeyOf(slot.name);
  page.slots.insert(page.slots.begin() + i, std::move(slot));
}

ChildMap::Slot ChildMap::Take(Page& page, size_t i) {
  Slot slot = std::move(page.slots[i]);
  page.slots.erase(page.slots.begin() + i);
  std::copy(page.keys.begin() + i + 1, page.keys.begin() + page.slots.size() + 1,
            page.keys.begin() + i);
  return slot;
}

// Inserts `slot` at `i` in `page`; a full page first gives its upper half to
// a new page, which is returned for the parent to add after `page`.
ChildMap::PagePtr ChildMap::PutOrSplit(Page& page, size_t i, Slot slot) {
  if (page.slots.size() < kPageSlots) {
    Put(page, i, std::move(slot));
    return nullptr;
  }
  auto right = std::make_shared<Page>();
  right->leaf = page.leaf;
  right->slots.reserve(kPageSlots / 2 + 1);
  while (page.slots.size() > kPageSlots / 2) Put(*right, 0, Take(page, page.slots.size() - 1));
  if (i <= page.slots.size())
    Put(page, i, std::move(slot));
  else
    Put(*right, i - page.slots.size(), std::move(slot));
  return right;
}

// Adds or replaces `name` below the owned `page`; returns the page split off
// it, if any. Sets *added when `name` was new.
ChildMap::PagePtr ChildMap::Insert(Page& page, std::string_view name, uint64_t key, NodePtr& child,
                                   bool* added) {
  auto [below, found] = Search(page, name, key);
  if (page.leaf) {
    *added = !found;
    if (found) {
      page.slots[below - 1].child = std::move(child);
      return nullptr;
    }
    return PutOrSplit(page, below, Slot{std::string(name), std::move(child), nullptr});
  }
  size_t i = below ? below - 1 : 0;
  PagePtr right = Insert(*Own(page.slots[i].below), name, key, child, added);
  if (!right) return nullptr;
  std::string least = right->slots[0].name;
  return PutOrSplit(page, i + 1, Slot{std::move(least), nullptr, std::move(right)});
}

// Removes `name`, which is present, below the owned `page`.
void ChildMap::Erase(Page& page, std::string_view name, uint64_t key) {
  size_t below = Search(page, name, key).below;
  if (page.leaf) {
    Take(page, below - 1);
    return;
  }
  size_t i = below ? below - 1 : 0;
  Page* next = Own(page.slots[i].below);
  Erase(*next, name, key);
  if (next->slots.size() < kMinSlots) Refill(page, i);
}

// Page `i` below `parent` has fewer than kMinSlots slots: it merges with a
// neighbour when both fit in one page, else takes one slot from it.
void ChildMap::Refill(Page& parent, size_t i) {
  size_t left_index = i > 0 ? i - 1 : 0, right_index = left_index + 1;
  Page& left = *Own(parent.slots[left_index].below);
  Page& right = *Own(parent.slots[right_index].below);
  if (!right.leaf) {  // its first slot may move left: give it the name the parent knows
    Slot first = Take(right, 0);
    first.name = parent.slots[right_index].name;
    Put(right, 0, std::move(first));
  }
  if (left.slots.size() + right.slots.size() <= kPageSlots) {
    while (!right.slots.empty()) Put(left, left.slots.size(), Take(right, 0));
    Take(parent, right_index);
    return;
  }
  if (left.slots.size() < right.slots.size())
    Put(left, left.slots.size(), Take(right, 0));
  else
    Put(right, 0, Take(left, left.slots.size() - 1));
  Slot separator = Take(parent, right_index);
  separator.name = right.slots[0].name;
  Put(parent, right_index, std::move(separator));
}

const NodePtr* ChildMap::Find(std::string_view name) const {
  const Page* page = root_.get();
  if (!page) return nullptr;
  uint64_t key = KeyOf(name);
  while (!page->leaf) {
    size_t below = Search(*page, name, key).below;
    page = page->slots[below ? below - 1 : 0].below.get();
  }
  auto [below, found] = Search(*page, name, key);
  return found ? &page->slots[below - 1].child : nullptr;
}

NodePtr* ChildMap::FindMutable(std::string_view name) {
  if (!root_) return nullptr;
  uint64_t key = KeyOf(name);
  Page* page = Own(root_);
  while (!page->leaf) {
    size_t below = Search(*page, name, key).below;
    page = Own(page->slots[below ? below - 1 : 0].below);
  }
  auto [below, found] = Search(*page, name, key);
  return found ? &page->slots[below - 1].child : nullptr;
}

NodePtr* ChildMap::Insert(std::string_view name, NodePtr child) {
  if (!root_) root_ = std::make_shared<Page>();
  bool added = false;
  PagePtr right = Insert(*Own(root_), name, KeyOf(name), child, &added);
  if (right) {  // the root split: a new root above both halves
    auto top = std::make_shared<Page>();
    top->leaf = false;
    std::string least = right->slots[0].name;
    Put(*top, 0, Slot{"", nullptr, std::move(root_)});
    Put(*top, 1, Slot{std::move(least), nullptr, std::move(right)});
    root_ = std::move(top);
  }
  if (added) ++size_;
  return FindMutable(name);
}

bool ChildMap::Erase(std::string_view name) {
  if (!Find(name)) return false;
  Erase(*Own(root_), name, KeyOf(name));
  --size_;
  if (root_->slots.empty()) {
    root_.reset();
  } else if (!root_->leaf && root_->slots.size() == 1) {  // the root lost its last sibling
    PagePtr only = std::move(root_->slots[0].below);
    root_ = std::move(only);
  }
  return true;
}

}  // namespace txend::xsd
