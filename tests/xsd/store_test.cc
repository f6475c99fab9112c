// Tree, paths, permissions and transactions: the pure parts of xsd.
#include <chrono>

#include <gtest/gtest.h>

#include "xsd/path.h"
#include "xsd/permissions.h"
#include "xsd/transaction.h"
#include "xsd/tree.h"

namespace txend::xsd {
namespace {

using wire::Access;

TEST(Path, CanonicalizesAndValidates) {
  EXPECT_EQ(*Canonicalize("/a/b", 0, false, 2048), "/a/b");
  EXPECT_EQ(*Canonicalize("device/vbd", 5, false, 2048), "/local/domain/5/device/vbd");
  EXPECT_EQ(*Canonicalize("@releaseDomain", 0, true, 2048), "@releaseDomain");
  for (const char* bad : {"", "/a/", "/a//b", "/a b", "/a\x01", "/ü"})
    EXPECT_EQ(Canonicalize(bad, 0, false, 2048).status().code(), EINVAL) << bad;
  EXPECT_FALSE(Canonicalize("@releaseDomain", 0, false, 2048).ok());
  EXPECT_EQ(*Canonicalize("/", 0, false, 2048), "/");
  // The length limit applies below a domain's home only.
  std::string long_rel(30, 'x');
  EXPECT_TRUE(Canonicalize("/local/domain/7/" + long_rel, 7, false, 30).ok());
  EXPECT_FALSE(Canonicalize("/local/domain/7/" + long_rel + "y", 7, false, 30).ok());
}

TEST(Path, Relations) {
  EXPECT_EQ(ParentPath("/a/b"), "/a");
  EXPECT_EQ(ParentPath("/a"), "/");
  EXPECT_EQ(BaseName("/a/b"), "b");
  EXPECT_TRUE(IsAtOrBelow("/a/b", "/a"));
  EXPECT_TRUE(IsAtOrBelow("/a", "/a"));
  EXPECT_FALSE(IsAtOrBelow("/ab", "/a"));
  EXPECT_TRUE(IsAtOrBelow("/x", "/"));
  EXPECT_EQ(DomainOfPath("/local/domain/12/name"), 12);
  EXPECT_EQ(DomainOfPath("/local/domain/x"), -1);
}

TEST(Tree, CopyIsAnIndependentSnapshot) {
  Tree live;
  live.Write("/a/b", "1", std::nullopt, 1, nullptr);
  Tree snap = live;
  live.Write("/a/b", "2", std::nullopt, 2, nullptr);
  live.Write("/a/c", "3", std::nullopt, 2, nullptr);
  live.Remove("/a/b", 3, nullptr);
  EXPECT_EQ(snap.Find("/a/b")->value, "1");
  EXPECT_EQ(snap.Find("/a/c"), nullptr);
  EXPECT_EQ(live.Find("/a/b"), nullptr);
  EXPECT_EQ(live.Find("/a/c")->value, "3");
}

// Writes and removals in a large directory under a snapshot: the snapshot keeps
// every entry as it was, both list their children in name order, and entries
// the write did not touch stay shared (the same node) between the two.
TEST(Tree, SnapshotOfALargeDirectoryStaysIntactAndShared) {
  Tree live;
  for (int i = 0; i < 2000; ++i)
    live.Write("/d/e" + std::to_string(i), std::to_string(i), std::nullopt, 1, nullptr);
  Tree snap = live;
  live.Write("/d/e500", "changed", std::nullopt, 2, nullptr);
  live.Remove("/d/e7", 3, nullptr);
  live.Write("/d/new", "x", std::nullopt, 4, nullptr);
  EXPECT_EQ(snap.Find("/d/e500")->value, "500");
  EXPECT_EQ(snap.Find("/d/e7")->value, "7");
  EXPECT_EQ(snap.Find("/d/new"), nullptr);
  EXPECT_EQ(live.Find("/d/e500")->value, "changed");
  EXPECT_EQ(live.Find("/d/e7"), nullptr);
  EXPECT_EQ(live.Find("/d/e1999"), snap.Find("/d/e1999"));
  EXPECT_EQ(snap.Find("/d")->children.size(), 2000u);
  EXPECT_EQ(live.Find("/d")->children.size(), 2000u);
  for (const Tree* tree : {&live, &snap}) {
    std::string last;
    tree->Find("/d")->children.ForEach([&](const std::string& name, const NodePtr&) {
      EXPECT_LT(last, name);
      last = name;
    });
  }
}

TEST(Tree, UnsharedTreeIsUpdatedInPlace) {
  Tree live;
  live.Write("/a/b", "1", std::nullopt, 1, nullptr);
  const Node* before = live.Find("/a/b");
  live.Write("/a/b", "2", std::nullopt, 2, nullptr);
  EXPECT_EQ(live.Find("/a/b"), before);  // nobody shared it: no copy
  Tree snap = live;
  live.Write("/a/b", "3", std::nullopt, 3, nullptr);
  EXPECT_NE(live.Find("/a/b"), before);  // shared with snap: copied
  EXPECT_EQ(snap.Find("/a/b"), before);
}

TEST(Tree, CreatedNodesInheritPermsAndUnprivilegedCreatorsOwnThem) {
  Tree t({{0, Access::kNone}});
  t.Write("/d", "", std::nullopt, 1, nullptr);
  t.SetPerms("/d", {{0, Access::kRead}, {5, Access::kWrite}}, 2, nullptr);
  std::vector<Change> changes;
  t.Write("/d/x/y", "v", 5u, 3, &changes);
  EXPECT_EQ(t.Find("/d/x/y")->perms, (wire::Perms{{5, Access::kRead}, {5, Access::kWrite}}));
  ASSERT_EQ(changes.size(), 2u);  // x and y created
  EXPECT_EQ(changes[0].kind, Change::kCreated);
  EXPECT_EQ(changes[0].path, "/d/x");
  t.Write("/d/z", "", std::nullopt, 4, nullptr);
  EXPECT_EQ(t.Find("/d/z")->perms[0].domid, 0u);  // dom0 inherits the parent's owner
}

TEST(Tree, RemoveReportsWholeSubtreeDeepestFirst) {
  Tree t;
  t.Write("/a/b/c", "", std::nullopt, 1, nullptr);
  std::vector<Change> changes;
  t.Remove("/a", 2, &changes);
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes[0].path, "/a/b/c");
  EXPECT_EQ(changes[2].kind, Change::kRemoved);
  EXPECT_EQ(changes[2].path, "/a");
  EXPECT_EQ(changes[1].kind, Change::kRemovedBelow);
}

// Nodes counted by walking the tree, for comparison with node_count().
size_t Walked(const Tree& tree) {
  size_t n = 0;
  tree.ForEach([&](const std::string&, const Node&) { ++n; });
  return n;
}

// Every kind of mutation, on a tree and on snapshots of it: each keeps its own count,
// equal to its nodes, whatever happens to the others.
TEST(Tree, NodeCountFollowsEveryMutationAndSnapshot) {
  Tree live;
  EXPECT_EQ(live.node_count(), 1u);  // the root
  live.Write("/a/b/c", "1", std::nullopt, 1, nullptr);
  live.Mkdir("/a/d", std::nullopt, 2, nullptr);
  live.Mkdir("/a/d", std::nullopt, 3, nullptr);  // exists: nothing new
  live.Restore("/r/s", "v", {{0, Access::kNone}}, 4);
  EXPECT_EQ(live.node_count(), 7u);
  Tree snap = live;
  live.Remove("/a", 5, nullptr);
  live.Remove("/nothing/here", 6, nullptr);
  live.SetPerms("/r/t", {{0, Access::kRead}}, 7, nullptr);  // creates t
  std::vector<Change> changes;
  live.Remove("/r/s", 8, &changes);
  EXPECT_EQ(live.node_count(), Walked(live));
  EXPECT_EQ(live.node_count(), 3u);  // /, /r, /r/t
  EXPECT_EQ(snap.node_count(), 7u);
  EXPECT_EQ(snap.node_count(), Walked(snap));
  Tree empty;
  empty = snap;
  empty.Remove("/r", 9, nullptr);
  EXPECT_EQ(empty.node_count(), Walked(empty));
  EXPECT_EQ(snap.node_count(), 7u);
}

// xsd's stats request reports node_count on the loop every client waits on: it is kept
// as the tree changes, not counted on demand (a walk of 100k nodes takes milliseconds, so
// 1000 reads of it would take seconds).
TEST(Tree, NodeCountIsKeptNotCounted) {
  Tree big;
  for (int d = 0; d < 1000; ++d)
    for (int i = 0; i < 100; ++i)
      big.Write("/local/domain/" + std::to_string(d) + "/n" + std::to_string(i), "v", std::nullopt,
                1, nullptr);
  ASSERT_EQ(big.node_count(), Walked(big));
  auto start = std::chrono::steady_clock::now();
  size_t sum = 0;
  for (int i = 0; i < 1000; ++i) sum += big.node_count();
  EXPECT_EQ(sum, 1000 * Walked(big));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

TEST(Permissions, FollowXenstoreRules) {
  wire::Perms p{{5, Access::kNone}, {7, Access::kRead}, {9, Access::kWrite}};
  EXPECT_TRUE(CanWrite({0, true, {}}, p));
  EXPECT_TRUE(CanWrite({5, false, {}}, p));  // owner
  EXPECT_TRUE(CanRead({7, false, {}}, p));
  EXPECT_FALSE(CanWrite({7, false, {}}, p));
  EXPECT_TRUE(CanWrite({9, false, {}}, p));
  EXPECT_FALSE(CanRead({9, false, {}}, p));
  EXPECT_FALSE(CanRead({3, false, {}}, p));  // default: none
  EXPECT_TRUE(CanWrite({3, false, 5}, p));   // targets the owner (stub domain)
  EXPECT_TRUE(CanRead({4, false, 7}, p));    // inherits its target's grant
  EXPECT_TRUE(CanRead({3, false, {}}, {{5, Access::kRead}}));
}

Op Write(std::string path, std::string value) {
  return Op{Op::kWrite, std::move(path), std::move(value), {}, {}};
}

TEST(Transaction, ConflictsWhenSomethingItReadChanged) {
  Tree live;
  live.Write("/x", "1", std::nullopt, 1, nullptr);
  Transaction tx(1, live);
  tx.ObserveNode("/x", tx.tree().Find("/x"));
  tx.Apply(Write("/y", "2"));
  EXPECT_TRUE(tx.StillValid(live));
  live.Write("/x", "9", std::nullopt, 2, nullptr);
  EXPECT_FALSE(tx.StillValid(live));
}

TEST(Transaction, ConflictsWhenItsTargetWasCreatedOrRemovedMeanwhile) {
  Tree live;
  live.Write("/gone", "", std::nullopt, 1, nullptr);
  Transaction a(1, live);
  a.Apply(Write("/new", "a"));
  Transaction b(2, live);
  b.Apply(Write("/gone", "b"));
  live.Write("/new", "other", std::nullopt, 2, nullptr);
  live.Remove("/gone", 3, nullptr);
  EXPECT_FALSE(a.StillValid(live));
  EXPECT_FALSE(b.StillValid(live));
}

TEST(Transaction, SiblingCreationsUnderAnExistingDirectoryCommute) {
  Tree live;
  live.Mkdir("/backend/vbd", std::nullopt, 1, nullptr);
  Transaction a(1, live), b(2, live);
  a.Apply(Write("/backend/vbd/5/0/state", "1"));
  b.Apply(Write("/backend/vbd/6/0/state", "1"));
  for (const Op& op : b.ops()) ApplyOp(live, op, 2, nullptr);  // b commits first
  EXPECT_TRUE(a.StillValid(live));
}

TEST(Transaction, DirectoryListingIsObserved) {
  Tree live;
  live.Mkdir("/d", std::nullopt, 1, nullptr);
  Transaction tx(1, live);
  tx.ObserveChildren("/d", tx.tree().Find("/d"));
  tx.Apply(Write("/elsewhere", "1"));
  live.Write("/d/new", "", std::nullopt, 2, nullptr);
  EXPECT_FALSE(tx.StillValid(live));
}

TEST(Transaction, OwnWritesAreVisibleOnlyInside) {
  Tree live;
  Transaction tx(1, live);
  tx.Apply(Write("/t/a", "mine"));
  EXPECT_EQ(tx.tree().Find("/t/a")->value, "mine");
  EXPECT_EQ(live.Find("/t/a"), nullptr);
  tx.ObserveNode("/t/a", tx.tree().Find("/t/a"));  // own write: not an observation
  EXPECT_TRUE(tx.StillValid(live));
}

}  // namespace
}  // namespace txend::xsd
