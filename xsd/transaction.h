// Transaction: an open xenstore transaction. It works on its own copy of the
// tree taken at TRANSACTION_START (O(1): the tree is persistent), records the
// version of every node it observed, and logs its operations. At commit the
// observations are checked against the live tree (O(nodes touched)); if any
// observed node changed, the commit fails with EAGAIN; otherwise the logged
// operations are replayed onto the live tree.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "xsd/tree.h"

namespace txend::xsd {

// One store mutation, as requested (replayed at commit).
struct Op {
  enum Kind { kWrite, kMkdir, kRm, kSetPerms };
  Kind kind;
  std::string path;
  std::string value;                // kWrite
  wire::Perms perms;                // kSetPerms
  std::optional<uint32_t> creator;  // owner of created nodes (unprivileged callers)
};

// Applies `op` to `tree`, stamping with `stamp`.
void ApplyOp(Tree& tree, const Op& op, uint64_t stamp, std::vector<Change>* changes);

// The stamp a transaction gives its own changes, so they are never mistaken
// for observations of the snapshot.
inline constexpr uint64_t kOwnStamp = UINT64_MAX;

class Transaction {
 public:
  Transaction(uint32_t id, const Tree& snapshot) : id_(id), tree_(snapshot) {}

  uint32_t id() const { return id_; }
  // The private tree with every logged operation applied.
  const Tree& tree() const;

  // Records what a read saw of `path` (its value/perms, or its children list).
  void ObserveNode(const std::string& path, const Node* node);
  void ObserveChildren(const std::string& path, const Node* node);
  // Observes the target and logs `op`; the private tree gets it when next
  // read (tree()), so a transaction that only writes never copies a node.
  void Apply(Op op);

  bool read_only() const { return ops_.empty(); }
  const std::vector<Op>& ops() const { return ops_; }
  // Distinct nodes observed plus operations logged (for the transaction-nodes quota).
  size_t touched() const { return observed_.size() + ops_.size(); }
  // About the memory its observations and operations hold (for the transaction-bytes quota).
  size_t bytes() const { return bytes_; }
  // True when no observed node changed in `live` since the snapshot.
  bool StillValid(const Tree& live) const;
  // Ends the transaction and yields its operations. The private tree goes
  // first, so replaying them does not copy the live nodes it still shared.
  std::vector<Op> Finish() &&;

 private:
  struct Key {
    std::string path;
    bool children;
    auto operator<=>(const Key&) const = default;
  };
  uint32_t id_;
  mutable Tree tree_;
  mutable size_t applied_ = 0;        // ops_ applied to tree_ so far
  std::map<Key, uint64_t> observed_;  // version seen; 0 = absent
  std::vector<Op> ops_;
  size_t bytes_ = 0;
};

}  // namespace txend::xsd
