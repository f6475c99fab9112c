// Tree: the xenstore node hierarchy as a persistent (structurally shared)
// tree. Copying a Tree is O(1) and yields an independent snapshot; a write
// copies only the nodes on its path that another tree still shares
// (copy-on-write by use count), so a tree nobody shares is updated in place.
// Children are a persistent map (child_map.h), so copying a node is O(1) too
// and a write costs O(depth x log(children)), not the size of its directories.
// Every node carries version stamps for transaction conflict checks.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "wire/perm.h"
#include "xsd/child_map.h"

namespace txend::xsd {

// What a lookup reads comes first, beside the use count in front of the node
// (make_shared), so a path walk touches one cache line per node.
struct Node {
  ChildMap children;
  uint64_t version = 0;           // stamp of the last change of value or perms
  uint64_t children_version = 0;  // stamp of the last change of the set of children
  std::string value;
  wire::Perms perms;  // never empty
};

// What one mutation did, for watches, quotas and the journal. Paths are absolute.
struct Change {
  // kRemoved: the node an RM named; kRemovedBelow: its descendants, removed with it.
  enum Kind { kCreated, kModified, kPermsChanged, kRemoved, kRemovedBelow };
  Kind kind;
  std::string path;
  wire::Perms old_perms;  // kRemoved: perms of the removed node; kPermsChanged: before
  wire::Perms new_perms;  // kCreated/kPermsChanged
};

class Tree {
 public:
  // A tree holding only "/" with `root_perms`.
  explicit Tree(wire::Perms root_perms = {{0, wire::Access::kNone}});

  // The node at an absolute path, or nullptr. Valid until the next mutation.
  const Node* Find(std::string_view path) const;
  // The deepest existing node on `path` (at least the root) and its path.
  std::pair<const Node*, std::string> DeepestExisting(std::string_view path) const;

  // Mutations stamp what they change with `stamp` and append to `changes`.
  // Missing ancestors are created; a created node takes its parent's perms,
  // and when `creator` is set, that domain becomes its owner.
  void Write(std::string_view path, std::string_view value, std::optional<uint32_t> creator,
             uint64_t stamp, std::vector<Change>* changes);
  void Mkdir(std::string_view path, std::optional<uint32_t> creator, uint64_t stamp,
             std::vector<Change>* changes);
  // Removes `path` and everything below it: kRemovedBelow per descendant, then kRemoved.
  void Remove(std::string_view path, uint64_t stamp, std::vector<Change>* changes);
  void SetPerms(std::string_view path, wire::Perms perms, uint64_t stamp,
                std::vector<Change>* changes);
  // Replaces `path`'s value and perms (creating it and missing ancestors with
  // `perms`): used when restoring persisted state.
  void Restore(std::string_view path, std::string_view value, wire::Perms perms, uint64_t stamp);

  // Visits every node, parents before children, children in name order.
  void ForEach(const std::function<void(const std::string& path, const Node&)>& visit) const;
  // O(1): kept by every mutation (xsd's stats request reports it on the loop).
  size_t node_count() const { return node_count_; }

 private:
  // The node at `path`, made unshared along the way, creating missing nodes;
  // `created` says whether the node itself was missing.
  struct Touched {
    Node* node;
    bool created;
  };
  Touched Touch(std::string_view path, std::optional<uint32_t> creator, uint64_t stamp,
                std::vector<Change>* changes);
  NodePtr root_;
  size_t node_count_ = 1;  // the root
};

}  // namespace txend::xsd
