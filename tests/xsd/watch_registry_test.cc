// WatchRegistry: which watches an event fires, and the per-connection and total counts
// xsd reads when a connection goes and on stats requests.
#include "xsd/watch_registry.h"

#include <chrono>
#include <map>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

namespace txend::xsd {
namespace {

// (connection, token, event path) of one fired watch.
using Fired = std::tuple<ConnId, std::string, std::string>;

std::multiset<Fired> FiredBy(const WatchRegistry& r, const std::string& path, bool removed) {
  std::multiset<Fired> fired;
  r.Match(path, removed, [&](const WatchEntry& w, const std::string& event_path) {
    fired.insert({w.conn, w.token, event_path});
  });
  return fired;
}

// Every watch in `r`, found through Match alone: an event removing "/" fires each watch
// at or below it, and the special paths fire only their own watches.
std::multiset<Fired> EveryWatch(const WatchRegistry& r) {
  std::multiset<Fired> all = FiredBy(r, "/", true);
  for (const char* special : {"@introduceDomain", "@releaseDomain"})
    all.merge(FiredBy(r, special, false));
  return all;
}

// The same watches as a (connection, token, path) set, the way a test keeps them.
using Expected = std::set<Fired>;

size_t CountOf(const Expected& expected, ConnId conn) {
  size_t n = 0;
  for (const auto& [c, token, path] : expected) n += c == conn;
  return n;
}

void ExpectCountsMatch(const WatchRegistry& r, const Expected& expected, ConnId conns) {
  EXPECT_EQ(EveryWatch(r), std::multiset<Fired>(expected.begin(), expected.end()));
  EXPECT_EQ(r.size(), expected.size());
  for (ConnId c = 0; c < conns; ++c) EXPECT_EQ(r.CountFor(c), CountOf(expected, c)) << c;
}

TEST(WatchRegistry, CountsAgreeWithTheWatchesAfterChurn) {
  const std::vector<std::string> paths = {"/",   "/a",   "/a/b",           "/a/b/c",
                                          "/ab", "/x/y", "@releaseDomain", "@introduceDomain"};
  const ConnId conns = 6;
  WatchRegistry r;
  Expected expected;
  std::mt19937 rng(17);
  auto pick = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
  for (int step = 0; step < 5000; ++step) {
    ConnId conn = pick(conns);
    std::string path = paths[pick(paths.size())];
    std::string token = "t" + std::to_string(pick(3));
    size_t what = pick(10);
    if (what < 6) {
      bool fresh = expected.insert({conn, token, path}).second;
      EXPECT_EQ(r.Add(conn, path, token, "").code(), fresh ? 0 : EEXIST);
    } else if (what < 9) {
      bool had = expected.erase({conn, token, path}) == 1;
      EXPECT_EQ(r.Remove(conn, path, token).code(), had ? 0 : ENOENT);
    } else {
      std::erase_if(expected, [&](const Fired& f) { return std::get<0>(f) == conn; });
      r.RemoveAll(conn);
    }
    if (step % 50 == 0) ExpectCountsMatch(r, expected, conns);
  }
  ExpectCountsMatch(r, expected, conns);
  for (ConnId c = 0; c < conns; ++c) r.RemoveAll(c);
  ExpectCountsMatch(r, {}, conns);
}

TEST(WatchRegistry, RemoveAllLeavesOtherConnectionsWatching) {
  WatchRegistry r;
  for (ConnId c : {1, 2, 3})
    for (const char* path : {"/a", "/a/b", "@releaseDomain"})
      ASSERT_TRUE(r.Add(c, path, "tok", "").ok());
  r.RemoveAll(2);
  r.RemoveAll(99);  // not a connection: changes nothing
  EXPECT_EQ(r.CountFor(1), 3u);
  EXPECT_EQ(r.CountFor(2), 0u);
  EXPECT_EQ(r.CountFor(3), 3u);
  EXPECT_EQ(r.size(), 6u);
  EXPECT_EQ(FiredBy(r, "/a/b", false),
            (std::multiset<Fired>{
                {1, "tok", "/a/b"}, {1, "tok", "/a/b"}, {3, "tok", "/a/b"}, {3, "tok", "/a/b"}}));
  EXPECT_EQ(FiredBy(r, "@releaseDomain", false),
            (std::multiset<Fired>{{1, "tok", "@releaseDomain"}, {3, "tok", "@releaseDomain"}}));
  // The removed connection's watches are gone from the index too: it may set them again.
  EXPECT_TRUE(r.Add(2, "/a", "tok", "").ok());
  EXPECT_EQ(r.CountFor(2), 1u);
  EXPECT_EQ(r.size(), 7u);
}

TEST(WatchRegistry, RemovingAMissingWatchChangesNoCount) {
  WatchRegistry r;
  ASSERT_TRUE(r.Add(1, "/a", "tok", "").ok());
  ASSERT_TRUE(r.Add(2, "/a", "tok", "").ok());
  EXPECT_EQ(r.Remove(1, "/a", "other").code(), ENOENT);  // wrong token
  EXPECT_EQ(r.Remove(1, "/b", "tok").code(), ENOENT);    // wrong path
  EXPECT_EQ(r.Remove(3, "/a", "tok").code(), ENOENT);    // wrong connection
  EXPECT_EQ(r.Add(1, "/a", "tok", "").code(), EEXIST);   // nor does adding one twice
  EXPECT_EQ(r.CountFor(1), 1u);
  EXPECT_EQ(r.CountFor(2), 1u);
  EXPECT_EQ(r.CountFor(3), 0u);
  EXPECT_EQ(r.size(), 2u);
  EXPECT_TRUE(r.Remove(1, "/a", "tok").ok());
  EXPECT_EQ(r.Remove(1, "/a", "tok").code(), ENOENT);  // not twice
  EXPECT_EQ(r.CountFor(1), 0u);
  EXPECT_EQ(r.CountFor(2), 1u);
  EXPECT_EQ(r.size(), 1u);
}

TEST(WatchRegistry, OnePathUnderTwoTokensCountsTwice) {
  WatchRegistry r;
  ASSERT_TRUE(r.Add(1, "/a", "t1", "").ok());
  ASSERT_TRUE(r.Add(1, "/a", "t2", "").ok());
  EXPECT_EQ(r.CountFor(1), 2u);
  EXPECT_EQ(r.size(), 2u);
  ASSERT_TRUE(r.Remove(1, "/a", "t1").ok());
  EXPECT_EQ(r.CountFor(1), 1u);
  EXPECT_EQ(r.size(), 1u);
  EXPECT_EQ(FiredBy(r, "/a", false), (std::multiset<Fired>{{1, "t2", "/a"}}));
  r.RemoveAll(1);
  EXPECT_EQ(r.CountFor(1), 0u);
  EXPECT_EQ(r.size(), 0u);
  EXPECT_TRUE(FiredBy(r, "/a", false).empty());
}

// xsd reads CountFor when a connection goes and size() on every stats request, on the loop
// every client waits on: both are kept as watches come and go, and RemoveAll visits only
// the leaving connection's watches. Walking all 100k watches each time, the 10 000 reads
// took 18 s and the 10 000 RemoveAlls 3.5 s.
TEST(WatchRegistry, CountsAreKeptNotCounted) {
  const ConnId conns = 10'000;
  WatchRegistry r;
  for (ConnId c = 0; c < conns; ++c)
    for (int i = 0; i < 10; ++i)
      ASSERT_TRUE(
          r.Add(c, "/local/domain/" + std::to_string(c) + "/w" + std::to_string(i), "tok", "")
              .ok());
  ASSERT_EQ(EveryWatch(r).size(), 100'000u);
  auto start = std::chrono::steady_clock::now();
  size_t sum = 0;
  for (ConnId c = 0; c < conns; ++c) sum += r.CountFor(c) + r.size();
  EXPECT_EQ(sum, conns * (10 + 100'000));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  start = std::chrono::steady_clock::now();
  for (ConnId c = 0; c < conns; ++c) r.RemoveAll(c);
  EXPECT_EQ(r.size(), 0u);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  EXPECT_TRUE(EveryWatch(r).empty());
}

}  // namespace
}  // namespace txend::xsd
