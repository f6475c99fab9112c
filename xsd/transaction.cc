#include "xsd/transaction.h"

#include "xsd/path.h"

namespace txend::xsd {
namespace {

// What one observation or operation costs beyond its strings (map and vector
// entries, the node copies a write makes in the private tree).
constexpr size_t kEntryCost = 64;

}  // namespace

void ApplyOp(Tree& tree, const Op& op, uint64_t stamp, std::vector<Change>* changes) {
  switch (op.kind) {
    case Op::kWrite:
      tree.Write(op.path, op.value, op.creator, stamp, changes);
      break;
    case Op::kMkdir:
      tree.Mkdir(op.path, op.creator, stamp, changes);
      break;
    case Op::kRm:
      tree.Remove(op.path, stamp, changes);
      break;
    case Op::kSetPerms:
      tree.SetPerms(op.path, op.perms, stamp, changes);
      break;
  }
}

void Transaction::ObserveNode(const std::string& path, const Node* node) {
  if (node && node->version == kOwnStamp) return;
  if (observed_.try_emplace(Key{path, false}, node ? node->version : 0).second)
    bytes_ += path.size() + kEntryCost;
}

void Transaction::ObserveChildren(const std::string& path, const Node* node) {
  if (node && node->children_version == kOwnStamp) return;
  if (observed_.try_emplace(Key{path, true}, node ? node->children_version : 0).second)
    bytes_ += path.size() + kEntryCost;
}

void Transaction::Apply(Op op) {
  // Ancestors this op will create were seen absent; existing ones are not
  // observed, so transactions adding different children to one directory
  // commute instead of conflicting.
  const Tree& before = tree();
  for (std::string_view at = ParentPath(op.path); at != "/" && !before.Find(at);
       at = ParentPath(at))
    ObserveNode(std::string(at), nullptr);
  ObserveNode(op.path, before.Find(op.path));
  bytes_ += op.path.size() + op.value.size() + op.perms.size() * sizeof(wire::Perm) + kEntryCost;
  ops_.push_back(std::move(op));
}

const Tree& Transaction::tree() const {
  for (; applied_ < ops_.size(); ++applied_) ApplyOp(tree_, ops_[applied_], kOwnStamp, nullptr);
  return tree_;
}

bool Transaction::StillValid(const Tree& live) const {
  for (const auto& [key, seen] : observed_) {
    const Node* node = live.Find(key.path);
    uint64_t now = !node ? 0 : key.children ? node->children_version : node->version;
    if (now != seen) return false;
  }
  return true;
}

std::vector<Op> Transaction::Finish() && {
  tree_ = Tree();
  return std::move(ops_);
}

}  // namespace txend::xsd
