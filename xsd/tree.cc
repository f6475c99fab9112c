#include "xsd/tree.h"

#include <algorithm>

#include "xsd/path.h"

namespace txend::xsd {
namespace {

// Makes `slot` point at a node no other tree shares, copying it if needed.
Node* Unshare(NodePtr& slot) {
  if (slot.use_count() > 1) slot = std::make_shared<Node>(*slot);
  return slot.get();
}

void Visit(const std::string& path, const Node& node,
           const std::function<void(const std::string&, const Node&)>& visit) {
  visit(path, node);
  node.children.ForEach([&](const std::string& name, const NodePtr& child) {
    Visit(ChildPath(path, name), *child, visit);
  });
}

// `node` and its descendants.
size_t CountNodes(const Node& node) {
  size_t n = 1;
  node.children.ForEach([&](const std::string&, const NodePtr& child) { n += CountNodes(*child); });
  return n;
}

// Records the removal of `node` at `path` and its descendants, deepest first.
void RecordRemoval(const std::string& path, const Node& node, Change::Kind kind,
                   std::vector<Change>* changes) {
  node.children.ForEach([&](const std::string& name, const NodePtr& child) {
    RecordRemoval(ChildPath(path, name), *child, Change::kRemovedBelow, changes);
  });
  changes->push_back({kind, path, node.perms, {}});
}

}  // namespace

Tree::Tree(wire::Perms root_perms) : root_(std::make_shared<Node>()) {
  root_->perms = std::move(root_perms);
}

const Node* Tree::Find(std::string_view path) const {
  const Node* node = root_.get();
  ForEachComponent(path, [&](std::string_view part, size_t) {
    node = node->children.Find(part);
    return node != nullptr;
  });
  return node;
}

std::pair<const Node*, std::string> Tree::DeepestExisting(std::string_view path) const {
  const Node* node = root_.get();
  std::string at = "/";
  for (auto part : Components(path)) {
    const Node* child = node->children.Find(part);
    if (!child) break;
    node = child;
    at = ChildPath(at, part);
  }
  return {node, at};
}

Tree::Touched Tree::Touch(std::string_view path, std::optional<uint32_t> creator, uint64_t stamp,
                          std::vector<Change>* changes) {
  Node* node = Unshare(root_);
  bool created = false;
  ForEachComponent(path, [&](std::string_view part, size_t end) {
    Node* next = node->children.FindMutable(part);
    created = !next;
    if (created) {
      auto child = std::make_shared<Node>();
      child->perms = node->perms;
      if (creator) child->perms[0].domid = *creator;
      child->version = child->children_version = stamp;
      node->children_version = stamp;
      if (changes)
        changes->push_back({Change::kCreated, std::string(path.substr(0, end)), {}, child->perms});
      next = node->children.Insert(part, std::move(child));
      ++node_count_;
    }
    node = next;
    return true;
  });
  return {node, created};
}

void Tree::Write(std::string_view path, std::string_view value, std::optional<uint32_t> creator,
                 uint64_t stamp, std::vector<Change>* changes) {
  auto [node, created] = Touch(path, creator, stamp, changes);
  node->value.assign(value);
  node->version = stamp;
  if (!created && changes) changes->push_back({Change::kModified, std::string(path), {}, {}});
}

void Tree::Mkdir(std::string_view path, std::optional<uint32_t> creator, uint64_t stamp,
                 std::vector<Change>* changes) {
  if (!Find(path)) Touch(path, creator, stamp, changes);
}

void Tree::Remove(std::string_view path, uint64_t stamp, std::vector<Change>* changes) {
  if (path == "/" || !Find(path)) return;
  Node* parent = Touch(ParentPath(path), std::nullopt, stamp, nullptr).node;
  const Node* child = parent->children.Find(BaseName(path));
  if (changes) RecordRemoval(std::string(path), *child, Change::kRemoved, changes);
  node_count_ -= CountNodes(*child);
  parent->children.Erase(BaseName(path));
  parent->children_version = stamp;
}

void Tree::SetPerms(std::string_view path, wire::Perms perms, uint64_t stamp,
                    std::vector<Change>* changes) {
  Node* node = Touch(path, std::nullopt, stamp, changes).node;
  if (changes) changes->push_back({Change::kPermsChanged, std::string(path), node->perms, perms});
  node->perms = std::move(perms);
  node->version = stamp;
}

void Tree::Restore(std::string_view path, std::string_view value, wire::Perms perms,
                   uint64_t stamp) {
  Node* node = Touch(path, std::nullopt, stamp, nullptr).node;
  node->value.assign(value);
  node->perms = std::move(perms);
  node->version = stamp;
}

void Tree::ForEach(const std::function<void(const std::string&, const Node&)>& visit) const {
  Visit("/", *root_, visit);
}

}  // namespace txend::xsd
