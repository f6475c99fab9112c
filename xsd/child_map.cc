#include "xsd/child_map.h"

#include <algorithm>

#include "xsd/tree.h"

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

// A name's first 7 bytes (zero-padded, big-endian), then its size up to 8.
// Different keys order names as their bytes do; equal keys with a size
// under 8 are equal names, so most searches never read a name.
uint64_t KeyOf(std::string_view name) {
  uint64_t key = 0;
  for (size_t i = 0; i < 7; ++i)
    key = key << 8 | (i < name.size() ? static_cast<unsigned char>(name[i]) : 0);
  return key << 8 | std::min<size_t>(name.size(), 8);
}

bool KeyIsName(uint64_t key) { return (key & 0xff) < 8; }

// Asks for every cache line of `page` that a search reads, all at once.
template <typename Page>
void Prefetch(const Page* page) {
  const char* begin = reinterpret_cast<const char*>(page);
  for (const char* at = begin; at < begin + sizeof(Page); at += 64) __builtin_prefetch(at);
}

}  // namespace

// Makes `page` point at a page no other map shares, copying it if needed.
ChildMap::Page* ChildMap::Own(PagePtr& page) {
  if (page.use_count() > 1) page = std::make_shared<Page>(*page);
  return page.get();
}

// Owns the page below slot `i` of the owned inner `page`.
ChildMap::Page* ChildMap::OwnBelow(Page& page, size_t i) {
  page.targets[i].page = Own(page.slots[i].below);
  return page.targets[i].page;
}

// Sets slot `i`'s key and target from the slot.
void ChildMap::Sync(Page& page, size_t i) {
  const Slot& slot = page.slots[i];
  page.keys[i] = KeyOf(slot.name);
  if (page.leaf)
    page.targets[i].node = slot.child.get();
  else
    page.targets[i].page = slot.below.get();
}

// Where `name` (whose key is `key`) falls among `page`'s slots: a binary
// search of the keys; only names of 8 bytes or more with the same key are read.
inline ChildMap::Place ChildMap::Search(const Page& page, std::string_view name, uint64_t key) {
  size_t n = page.slots.size();
  size_t i = std::lower_bound(page.keys.begin(), page.keys.begin() + n, key) - page.keys.begin();
  for (; i < n && page.keys[i] == key; ++i) {
    int order =
        KeyIsName(key) ? 0 : Order(std::string_view(page.slots[i].name).substr(7), name.substr(7));
    if (order == 0) return {i + 1, true};
    if (order > 0) break;
  }
  return {i, false};
}

// Inserts `slot` at `i` in `page`, which has room.
void ChildMap::Put(Page& page, size_t i, Slot slot) {
  size_t n = page.slots.size();
  std::copy_backward(page.keys.begin() + i, page.keys.begin() + n, page.keys.begin() + n + 1);
  std::copy_backward(page.targets.begin() + i, page.targets.begin() + n,
                     page.targets.begin() + n + 1);
  page.slots.insert(page.slots.begin() + i, std::move(slot));
  Sync(page, i);
}

ChildMap::Slot ChildMap::Take(Page& page, size_t i) {
  Slot slot = std::move(page.slots[i]);
  page.slots.erase(page.slots.begin() + i);
  size_t n = page.slots.size();
  std::copy(page.keys.begin() + i + 1, page.keys.begin() + n + 1, page.keys.begin() + i);
  std::copy(page.targets.begin() + i + 1, page.targets.begin() + n + 1, page.targets.begin() + i);
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
      Sync(page, below - 1);
      return nullptr;
    }
    return PutOrSplit(page, below, Slot{std::string(name), std::move(child), nullptr});
  }
  size_t i = below ? below - 1 : 0;
  PagePtr right = Insert(*OwnBelow(page, i), name, key, child, added);
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
  Page* next = OwnBelow(page, i);
  Erase(*next, name, key);
  if (next->slots.size() < kMinSlots) Refill(page, i);
}

// Page `i` below `parent` has fewer than kMinSlots slots: it merges with a
// neighbour when both fit in one page, else takes one slot from it.
void ChildMap::Refill(Page& parent, size_t i) {
  size_t left_index = i > 0 ? i - 1 : 0, right_index = left_index + 1;
  Page& left = *OwnBelow(parent, left_index);
  Page& right = *OwnBelow(parent, right_index);
  if (left.slots.size() + right.slots.size() <= kPageSlots) {
    while (!right.slots.empty()) Put(left, left.slots.size(), Take(right, 0));
    Take(parent, right_index);
    return;
  }
  if (left.slots.size() < right.slots.size())
    Put(left, left.slots.size(), Take(right, 0));
  else
    Put(right, 0, Take(left, left.slots.size() - 1));
  parent.slots[right_index].name = right.slots[0].name;
  Sync(parent, right_index);
}

const Node* ChildMap::Find(std::string_view name) const {
  const Page* page = root_.get();
  if (!page) return nullptr;
  uint64_t key = KeyOf(name);
  for (Prefetch(page); !page->leaf; Prefetch(page)) {
    size_t below = Search(*page, name, key).below;
    page = page->targets[below ? below - 1 : 0].page;
  }
  auto [below, found] = Search(*page, name, key);
  if (!found) return nullptr;
  // A write after this lookup (FindMutable) reads the slot's use count:
  // fetch it now, beside the walk below the child, rather than after it.
  __builtin_prefetch(&page->slots[below - 1]);
  return page->targets[below - 1].node;
}

Node* ChildMap::FindMutable(std::string_view name) {
  if (!root_) return nullptr;
  uint64_t key = KeyOf(name);
  Page* page = Own(root_);
  while (!page->leaf) {
    size_t below = Search(*page, name, key).below;
    page = OwnBelow(*page, below ? below - 1 : 0);
  }
  auto [below, found] = Search(*page, name, key);
  if (!found) return nullptr;
  NodePtr& child = page->slots[below - 1].child;
  if (child.use_count() > 1) {
    child = std::make_shared<Node>(*child);
    Sync(*page, below - 1);
  }
  return child.get();
}

Node* ChildMap::Insert(std::string_view name, NodePtr child) {
  if (!root_) root_ = std::make_shared<Page>();
  Node* inserted = child.get();
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
  return inserted;
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
