// Request semantics of xsd, message by message, without sockets.
#include "xsd/xenstore.h"

#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <sys/resource.h>

#include <gtest/gtest.h>

#include "tests/support/daemon_process.h"
#include "xsd/journal.h"
#include "xsd/rate_limiter.h"

namespace txend::xsd {
namespace {

using wire::MsgType;
using namespace std::string_literals;

// Drives a Xenstore: sends requests as a connection, collects what each connection received.
class Harness {
 public:
  explicit Harness(Quota q = {}, std::unique_ptr<Journal> j = nullptr,
                   std::optional<Tree> t = std::nullopt)
      : store(q, std::move(j), std::move(t)) {}

  ConnId Connect(uint32_t domid) { return store.Connect(domid); }

  // Sends one request; returns the reply's payload, or "ERR:<name>".
  std::string Ask(ConnId conn, MsgType type, const std::string& payload, uint32_t tx = 0) {
    Outbox out;
    wire::Message m;
    m.header = {static_cast<uint32_t>(type), ++req_, tx, static_cast<uint32_t>(payload.size())};
    m.payload = payload;
    store.Handle(conn, m, out);
    std::string reply = "(none)";
    for (auto& [to, bytes] : out.messages) {
      wire::Message got = Decode(bytes);
      if (to == conn && got.header.req_id == req_ && got.type() != MsgType::kWatchEvent)
        reply = got.type() == MsgType::kError
                    ? "ERR:" + got.payload.substr(0, got.payload.size() - 1)
                    : got.payload;
      else if (got.type() == MsgType::kWatchEvent)
        events[to].push_back(got.payload);
    }
    last_out = std::move(out);
    return reply;
  }

  std::string Read(ConnId c, const std::string& path, uint32_t tx = 0) {
    return Ask(c, MsgType::kRead, path + '\0', tx);
  }
  std::string Write(ConnId c, const std::string& path, const std::string& value, uint32_t tx = 0) {
    return Ask(c, MsgType::kWrite, path + '\0' + value, tx);
  }
  uint32_t Start(ConnId c) { return std::stoul(Ask(c, MsgType::kTransactionStart, "\0"s)); }
  std::string End(ConnId c, uint32_t tx, bool commit) {
    return Ask(c, MsgType::kTransactionEnd, commit ? "T\0"s : "F\0"s, tx);
  }

  static wire::Message Decode(const std::string& bytes) {
    wire::MessageReader r;
    r.Feed(bytes);
    return *r.Next();
  }

  Xenstore store;
  std::map<ConnId, std::vector<std::string>> events;
  Outbox last_out;
  uint32_t req_ = 0;
};

const std::string kOk = "OK\0"s;

TEST(Xenstore, ReadWriteDirectoryRm) {
  Harness h;
  ConnId c = h.Connect(0);
  EXPECT_EQ(h.Write(c, "/a/b", "hello"), kOk);
  EXPECT_EQ(h.Read(c, "/a/b"), "hello");
  EXPECT_EQ(h.Read(c, "/a"), "");
  EXPECT_EQ(h.Ask(c, MsgType::kDirectory, "/a\0"s), "b\0"s);
  EXPECT_EQ(h.Read(c, "/nope"), "ERR:ENOENT");
  EXPECT_EQ(h.Ask(c, MsgType::kRm, "/a\0"s), kOk);
  EXPECT_EQ(h.Ask(c, MsgType::kRm, "/a\0"s), kOk);             // already gone: fine
  EXPECT_EQ(h.Ask(c, MsgType::kRm, "/x/y\0"s), "ERR:ENOENT");  // parent missing
  EXPECT_EQ(h.Ask(c, MsgType::kRm, "/\0"s), "ERR:EINVAL");
  EXPECT_EQ(h.Write(c, "/bin", "a\0b"s), kOk);  // values are binary
  EXPECT_EQ(h.Read(c, "/bin"), "a\0b"s);
}

// xenstored reads a one-argument request's path only up to its NUL: a READ of
// "/a/b" without one failed there (a device model's state looked missing), so
// xsd refuses it too rather than let a client work here and not on Xen.
TEST(Xenstore, OneArgumentRequestsNeedTheirTerminator) {
  Harness h;
  ConnId c = h.Connect(0);
  EXPECT_EQ(h.Write(c, "/a/b", "running"), kOk);
  EXPECT_EQ(h.Read(c, "/a/b"), "running");
  for (MsgType t :
       {MsgType::kRead, MsgType::kDirectory, MsgType::kGetPerms, MsgType::kMkdir, MsgType::kRm}) {
    EXPECT_EQ(h.Ask(c, t, "/a/b"), "ERR:EINVAL") << static_cast<int>(t);
    EXPECT_EQ(h.Ask(c, t, "/a/b\0/a\0"s), "ERR:EINVAL") << static_cast<int>(t);
  }
  EXPECT_EQ(h.Ask(c, MsgType::kGetDomainPath, "0"), "ERR:EINVAL");
  EXPECT_EQ(h.Read(c, "/a/b"), "running");  // the refused RM removed nothing
}

TEST(Xenstore, ProtocolErrorsAreRepliesNotCrashes) {
  Harness h;
  ConnId c = h.Connect(0);
  EXPECT_EQ(h.Ask(c, static_cast<MsgType>(999), "x"), "ERR:EINVAL");
  EXPECT_EQ(h.Ask(c, MsgType::kWatchEvent, "x\0y\0"s), "ERR:EINVAL");
  EXPECT_EQ(h.Ask(c, MsgType::kWrite, "/no-value-separator"), "ERR:EINVAL");
  EXPECT_EQ(h.Ask(c, MsgType::kRead, ""), "ERR:EINVAL");
  EXPECT_EQ(h.Read(c, "/bad path"), "ERR:EINVAL");
  EXPECT_EQ(h.Read(c, "/a", 77), "ERR:ENOENT");  // unknown transaction
  EXPECT_EQ(h.Ask(c, MsgType::kSetPerms, "/local\0q9\0"s), "ERR:EINVAL");
  EXPECT_EQ(h.Ask(c, MsgType::kGetDomainPath, "abc\0"s), "ERR:EINVAL");
  EXPECT_EQ(h.Ask(c, MsgType::kTransactionEnd, "X\0"s, h.Start(c)), "ERR:EINVAL");
  EXPECT_EQ(h.store.stats().error_replies, 9u);
}

TEST(Xenstore, TransactionsCommitAbortAndConflict) {
  Harness h;
  ConnId a = h.Connect(0), b = h.Connect(0);
  h.Write(a, "/n", "0");
  uint32_t t1 = h.Start(a);
  EXPECT_EQ(h.Read(a, "/n", t1), "0");
  EXPECT_EQ(h.Write(a, "/n", "1", t1), kOk);
  EXPECT_EQ(h.Read(b, "/n"), "0");  // not visible outside yet
  h.Write(b, "/n", "5");            // intervening commit on what t1 read
  EXPECT_EQ(h.End(a, t1, true), "ERR:EAGAIN");
  EXPECT_EQ(h.Read(a, "/n"), "5");

  uint32_t t2 = h.Start(a);
  h.Write(a, "/m", "x", t2);
  EXPECT_EQ(h.End(a, t2, false), kOk);
  EXPECT_EQ(h.Read(a, "/m"), "ERR:ENOENT");

  uint32_t ro = h.Start(a);  // read-only: never conflicts
  h.Read(a, "/n", ro);
  h.Write(b, "/n", "6");
  EXPECT_EQ(h.End(a, ro, true), kOk);

  const Stats& s = h.store.stats();
  EXPECT_EQ(s.transactions_started, 3u);
  EXPECT_EQ(s.transactions_committed, 1u);
  EXPECT_EQ(s.transactions_conflicted, 1u);
  EXPECT_EQ(s.transactions_aborted, 1u);
  EXPECT_EQ(s.implicit_transactions, 3u);  // the three writes outside transactions
}

TEST(Xenstore, SnapshotReadsIgnoreLaterCommits) {
  Harness h;
  ConnId a = h.Connect(0), b = h.Connect(0);
  h.Write(a, "/v", "old");
  uint32_t t = h.Start(a);
  h.Write(b, "/v", "new");
  h.Write(b, "/w", "born");
  EXPECT_EQ(h.Read(a, "/v", t), "old");
  EXPECT_EQ(h.Read(a, "/w", t), "ERR:ENOENT");
}

TEST(Xenstore, WatchesFireOnCommitAndForRemovedChildren) {
  Harness h;
  ConnId w = h.Connect(0), c = h.Connect(0);
  EXPECT_EQ(h.Ask(w, MsgType::kWatch, "/vm\0tok\0"s), kOk);
  EXPECT_EQ(h.events[w], std::vector<std::string>{"/vm\0tok\0"s});  // initial event
  EXPECT_EQ(h.Ask(w, MsgType::kWatch, "/vm/a/b\0deep\0"s), kOk);
  EXPECT_EQ(h.Ask(w, MsgType::kWatch, "/vm\0tok\0"s), "ERR:EEXIST");
  h.events.clear();

  uint32_t t = h.Start(c);
  h.Write(c, "/vm/a/b", "1", t);
  EXPECT_TRUE(h.events[w].empty());  // nothing before commit
  h.End(c, t, true);
  std::sort(h.events[w].begin(), h.events[w].end());
  EXPECT_EQ(h.events[w], (std::vector<std::string>{"/vm/a/b\0deep\0"s, "/vm/a/b\0tok\0"s}));
  h.events.clear();

  h.Ask(c, MsgType::kRm, "/vm/a\0"s);  // removing a parent fires the child's watcher too
  std::sort(h.events[w].begin(), h.events[w].end());
  EXPECT_EQ(h.events[w], (std::vector<std::string>{"/vm/a\0tok\0"s, "/vm/a/b\0deep\0"s}));
  h.events.clear();

  EXPECT_EQ(h.Ask(w, MsgType::kUnwatch, "/vm\0tok\0"s), kOk);
  EXPECT_EQ(h.Ask(w, MsgType::kUnwatch, "/vm\0tok\0"s), "ERR:ENOENT");
  h.Write(c, "/vm/x", "1");
  EXPECT_TRUE(h.events[w].empty());
}

TEST(Xenstore, RelativeWatchesGetRelativePathsAndDomainsSeeOnlyReadableEvents) {
  Harness h;
  ConnId dom0 = h.Connect(0);
  h.Ask(dom0, MsgType::kIntroduce,
        "3\0"
        "100\0"
        "1\0"s);
  h.Write(dom0, "/local/domain/3/device", "");
  h.Ask(dom0, MsgType::kSetPerms, "/local/domain/3/device\0n3\0"s);
  h.Write(dom0, "/secret", "");
  ConnId guest = h.Connect(3);
  EXPECT_EQ(h.Ask(guest, MsgType::kWatch, "device\0rel\0"s), kOk);
  EXPECT_EQ(h.Ask(guest, MsgType::kWatch, "/secret\0s\0"s), kOk);
  h.events.clear();
  h.Write(dom0, "/local/domain/3/device/vif", "x");
  h.Write(dom0, "/secret/x", "1");
  EXPECT_EQ(h.events[guest], std::vector<std::string>{"device/vif\0rel\0"s});
}

TEST(Xenstore, GuestPermissionsAndOwnership) {
  Harness h;
  ConnId dom0 = h.Connect(0);
  h.Write(dom0, "/local/domain/4/data", "");
  h.Ask(dom0, MsgType::kSetPerms, "/local/domain/4/data\0n4\0"s);
  h.Write(dom0, "/local/domain/5/secret", "s");
  ConnId g = h.Connect(4);
  EXPECT_EQ(h.Write(g, "data/key", "v"), kOk);
  EXPECT_EQ(h.Ask(g, MsgType::kGetPerms, "data/key\0"s), "n4\0"s);  // guest owns what it made
  EXPECT_EQ(h.Read(g, "/local/domain/5/secret"), "ERR:EACCES");
  EXPECT_EQ(h.Write(g, "/local/domain/5/secret", "x"), "ERR:EACCES");
  EXPECT_EQ(h.Write(g, "/local/domain/5/new", "x"), "ERR:EACCES");
  // MKDIR of an existing node needs write access too (no existence oracle), as in C xenstored.
  EXPECT_EQ(h.Ask(g, MsgType::kMkdir, "/local/domain/5/secret\0"s), "ERR:EACCES");
  EXPECT_EQ(h.Ask(g, MsgType::kMkdir, "data/key\0"s), kOk);
  EXPECT_EQ(h.Ask(g, MsgType::kSetPerms, "data/key\0n5\0"s), "ERR:EPERM");  // no giving away
  EXPECT_EQ(h.Ask(g, MsgType::kSetPerms, "data/key\0n4\0r5\0"s), kOk);
  for (auto t : {MsgType::kIntroduce, MsgType::kRelease, MsgType::kControl, MsgType::kSetTarget})
    EXPECT_EQ(h.Ask(g, t,
                    "9\0"
                    "1\0"
                    "1\0"s),
              "ERR:EACCES");
  EXPECT_EQ(h.Read(dom0, "/local/domain/5/secret"), "s");
}

TEST(Xenstore, QuotasBindGuestsOnly) {
  Quota q;
  q.entries = 5;
  q.node_size = 16;
  q.watches = 2;
  q.transactions = 1;
  q.perms = 1;
  Harness h(q);
  ConnId dom0 = h.Connect(0);
  h.Write(dom0, "/local/domain/6", "");
  h.Ask(dom0, MsgType::kSetPerms, "/local/domain/6\0n6\0"s);  // owned by 6: entry 1
  ConnId g = h.Connect(6);
  EXPECT_EQ(h.Write(g, "a", std::string(17, 'x')), "ERR:ENOSPC");
  EXPECT_EQ(h.Write(g, "a/b/c", "x"), kOk);  // 3 more: 4
  EXPECT_EQ(h.Write(g, "d/e", "x"), "ERR:ENOSPC");
  EXPECT_EQ(h.Write(g, "d", "x"), kOk);  // 5
  EXPECT_EQ(h.Write(g, "f", "x"), "ERR:ENOSPC");
  EXPECT_EQ(h.Ask(g, MsgType::kRm, "a\0"s), kOk);  // frees 3
  EXPECT_EQ(h.Write(g, "f", "x"), kOk);
  EXPECT_EQ(h.Ask(g, MsgType::kWatch, "/w1\0t\0"s), kOk);
  EXPECT_EQ(h.Ask(g, MsgType::kWatch, "/w2\0t\0"s), kOk);
  EXPECT_EQ(h.Ask(g, MsgType::kWatch, "/w3\0t\0"s), "ERR:E2BIG");
  uint32_t t = h.Start(g);
  EXPECT_EQ(h.Ask(g, MsgType::kTransactionStart, "\0"s), "ERR:ENOSPC");
  h.End(g, t, false);
  EXPECT_NE(h.Ask(g, MsgType::kTransactionStart, "\0"s), "ERR:ENOSPC");
  EXPECT_EQ(h.Ask(g, MsgType::kSetPerms, "d\0n6\0r1\0r2\0"s), "ERR:ENOSPC");
  // dom0 is never limited
  for (int i = 0; i < 20; ++i)
    EXPECT_EQ(h.Write(dom0, "/big/" + std::to_string(i), std::string(100, 'y')), kOk);
}

TEST(Xenstore, DomainsIntroduceReleaseAndSpecialWatches) {
  Harness h;
  ConnId dom0 = h.Connect(0);
  h.Ask(dom0, MsgType::kWatch, "@introduceDomain\0i\0"s);
  h.Ask(dom0, MsgType::kWatch, "@releaseDomain\0r\0"s);
  h.events.clear();
  EXPECT_EQ(h.Ask(dom0, MsgType::kIsDomainIntroduced, "8\0"s), "F\0"s);
  EXPECT_EQ(h.Ask(dom0, MsgType::kIntroduce,
                  "8\0"
                  "-12\0"
                  "3\0"s),
            kOk);  // mfn is signed decimal
  EXPECT_EQ(h.last_out.introduced, (std::vector<Introduction>{{8, static_cast<uint64_t>(-12), 3}}));
  EXPECT_EQ(h.store.IntroducedDomains(), std::vector<uint32_t>{8});
  EXPECT_EQ(h.Ask(dom0, MsgType::kIsDomainIntroduced, "8\0"s), "T\0"s);
  EXPECT_EQ(h.Ask(dom0, MsgType::kGetDomainPath, "8\0"s), "/local/domain/8\0"s);
  EXPECT_EQ(h.Ask(dom0, MsgType::kRelease, "8\0"s), kOk);
  EXPECT_EQ(h.last_out.released, std::vector<uint32_t>{8});
  EXPECT_TRUE(h.store.IntroducedDomains().empty());
  EXPECT_EQ(h.Ask(dom0, MsgType::kRelease, "8\0"s), "ERR:ENOENT");
  EXPECT_EQ(h.events[dom0],
            (std::vector<std::string>{"@introduceDomain\0i\0"s, "@releaseDomain\0r\0"s}));
  EXPECT_EQ(h.Ask(dom0, MsgType::kIntroduce,
                  "0\0"
                  "1\0"
                  "1\0"s),
            "ERR:EINVAL");
}

TEST(Xenstore, DomainGoneFiresReleaseOncePerIncarnation) {
  Harness h;
  ConnId dom0 = h.Connect(0);
  h.Ask(dom0, MsgType::kIntroduce,
        "9\0"
        "1\0"
        "1\0"s);
  h.Ask(dom0, MsgType::kWatch, "@releaseDomain\0r\0"s);
  h.events.clear();
  Outbox out;
  h.store.DomainGone(9, out);
  h.store.DomainGone(9, out);
  EXPECT_EQ(out.messages.size(), 1u);
  EXPECT_EQ(h.Ask(dom0, MsgType::kResume, "9\0"s), kOk);
  Outbox again;
  h.store.DomainGone(9, again);
  EXPECT_EQ(again.messages.size(), 1u);
}

TEST(Xenstore, DeadDomainIsReleasedWithOneEvent) {
  Harness h;
  ConnId dom0 = h.Connect(0);
  h.Ask(dom0, MsgType::kIntroduce,
        "4\0"
        "77\0"
        "2\0"s);
  EXPECT_EQ(h.Ask(dom0, MsgType::kIntroduce,
                  "4\0"
                  "78\0"
                  "3\0"s),
            kOk);  // again: reported again
  EXPECT_EQ(h.last_out.introduced, (std::vector<Introduction>{{4, 78, 3}}));
  h.Ask(dom0, MsgType::kWatch, "@releaseDomain\0r\0"s);
  Outbox out;
  h.store.DomainDied(4, out);
  EXPECT_EQ(out.released, std::vector<uint32_t>{4});
  EXPECT_EQ(out.messages.size(), 1u);
  EXPECT_EQ(h.Ask(dom0, MsgType::kIsDomainIntroduced, "4\0"s), "F\0"s);
  Outbox again;
  h.store.DomainDied(4, again);  // already gone: nothing more
  h.store.DomainDied(0, again);  // dom0 never dies here
  EXPECT_TRUE(again.messages.empty());
  EXPECT_TRUE(again.released.empty());
}

TEST(Xenstore, DirectoryPartPagesLargeListings) {
  Harness h;
  ConnId c = h.Connect(0);
  for (int i = 0; i < 600; ++i) h.Write(c, "/big/entry-" + std::to_string(i), "");
  EXPECT_EQ(h.Ask(c, MsgType::kDirectory, "/big\0"s), "ERR:E2BIG");
  std::string all;
  std::string gen;
  while (true) {
    std::string part =
        h.Ask(c, MsgType::kDirectoryPart, "/big\0"s + std::to_string(all.size()) + '\0');
    ASSERT_LE(part.size(), wire::kPayloadMax);
    size_t nul = part.find('\0');
    if (gen.empty()) gen = part.substr(0, nul);
    EXPECT_EQ(part.substr(0, nul), gen);
    std::string list = part.substr(nul + 1);
    bool last = list.size() >= 1 && (list == "\0"s || list.ends_with("\0\0"s));
    all += last ? list.substr(0, list.size() - 1) : list;
    if (last) break;
  }
  EXPECT_EQ(std::count(all.begin(), all.end(), '\0'), 600);
  EXPECT_EQ(h.Ask(c, MsgType::kDirectoryPart,
                  "/big\0"
                  "999999\0"s),
            "ERR:EINVAL");
}

TEST(Xenstore, ControlStatsAndQuota) {
  Harness h;
  ConnId c = h.Connect(0);
  std::string stats = h.Ask(c, MsgType::kControl, "stats\0"s);
  for (const char* name :
       {"transactions_started 0", "transactions_committed 0", "transactions_conflicted 0",
        "requests_total 1", "disk_bytes_written 0", "requests_control 1"})
    EXPECT_NE(stats.find(name), std::string::npos) << name;
  EXPECT_EQ(h.Ask(c, MsgType::kControl,
                  "quota\0"
                  "watches\0"
                  "7\0"s),
            kOk);
  EXPECT_EQ(h.store.quota().watches, 7u);
  EXPECT_EQ(h.Ask(c, MsgType::kControl, "bogus\0"s), "ERR:EINVAL");
  EXPECT_NE(h.Ask(c, MsgType::kControl, "help\0"s).find("stats"), std::string::npos);
}

TEST(Xenstore, GuestTransactionsExpireDom0sDoNot) {
  Quota q;
  q.transaction_seconds = 5;
  Harness h(q);
  auto now = std::chrono::steady_clock::now();
  h.store.set_clock([&] { return now; });
  ConnId dom0 = h.Connect(0), guest = h.Connect(7);
  EXPECT_EQ(h.Write(dom0, "/local/domain/7", ""), kOk);
  EXPECT_EQ(h.Ask(dom0, MsgType::kSetPerms, "/local/domain/7\0n7\0"s), kOk);
  uint32_t t_guest = h.Start(guest), t_dom0 = h.Start(dom0);
  EXPECT_EQ(h.Write(guest, "x", "1", t_guest), kOk);
  now += std::chrono::seconds(4);
  h.store.ExpireTransactions();
  EXPECT_EQ(h.Read(guest, "x", t_guest), "1") << "expired early";
  EXPECT_EQ(h.store.NextTransactionDeadline(), now + std::chrono::seconds(1));
  now += std::chrono::seconds(2);
  h.store.ExpireTransactions();
  EXPECT_EQ(h.store.stats().transactions_expired, 1u);
  EXPECT_EQ(h.Read(guest, "x", t_guest), "ERR:EAGAIN");
  EXPECT_EQ(h.End(guest, t_guest, true), "ERR:EAGAIN");
  EXPECT_EQ(h.End(guest, t_guest, true), "ERR:ENOENT");
  EXPECT_FALSE(h.store.NextTransactionDeadline().has_value());
  EXPECT_EQ(h.Write(dom0, "/d", "1", t_dom0), kOk);
  EXPECT_EQ(h.End(dom0, t_dom0, true), kOk);
}

TEST(Xenstore, WhatAGuestsTransactionsHoldIsCappedAndGivenBack) {
  Quota q;
  q.transaction_bytes = 1000;
  Harness h(q);
  ConnId dom0 = h.Connect(0), guest = h.Connect(7);
  EXPECT_EQ(h.Write(dom0, "/local/domain/7", ""), kOk);
  EXPECT_EQ(h.Ask(dom0, MsgType::kSetPerms, "/local/domain/7\0n7\0"s), kOk);
  uint32_t a = h.Start(guest), b = h.Start(guest);
  EXPECT_EQ(h.Write(guest, "x", std::string(600, 'x'), a), kOk);
  EXPECT_EQ(h.Write(guest, "y", std::string(600, 'y'), b), kOk);  // over the quota now
  EXPECT_EQ(h.Read(guest, "x", a), "ERR:ENOSPC");
  EXPECT_EQ(h.Write(guest, "z", "1", b), "ERR:ENOSPC");
  uint32_t d0 = h.Start(dom0);
  EXPECT_EQ(h.Write(dom0, "/big", std::string(5000, 'd'), d0), kOk) << "dom0 is not limited";
  EXPECT_EQ(h.End(guest, b, false), kOk);
  EXPECT_EQ(h.Read(guest, "x", a), std::string(600, 'x'))
      << "ending a transaction should give its bytes back";
  EXPECT_EQ(h.End(guest, a, true), kOk);
  EXPECT_EQ(h.End(dom0, d0, true), kOk);
}

TEST(RateLimiter, ABucketPerDomainRefillsAtTheRateUpToTheBurst) {
  Quota q;
  q.request_rate = 10;
  q.request_burst = 3;
  RateLimiter limiter(q);
  auto now = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(limiter.Allows(5, now));
    limiter.Take(5, now);
  }
  EXPECT_FALSE(limiter.Allows(5, now));
  EXPECT_TRUE(limiter.Allows(6, now)) << "domains share a bucket";
  EXPECT_TRUE(limiter.Allows(0, now)) << "dom0 is limited";
  EXPECT_EQ(limiter.NextToken(5, now), now + std::chrono::milliseconds(100));
  EXPECT_TRUE(limiter.Allows(5, now + std::chrono::milliseconds(100)));
  EXPECT_TRUE(limiter.Allows(5, now + std::chrono::hours(1)));
  for (int i = 0; i < 3; ++i) limiter.Take(5, now + std::chrono::hours(1));
  EXPECT_FALSE(limiter.Allows(5, now + std::chrono::hours(1))) << "saved more than the burst";
}

class JournalTest : public ::testing::Test {
 protected:
  std::unique_ptr<Harness> Open() {
    auto tree = std::make_optional<Tree>();
    auto j = Journal::Open(dir_.path() + "/db", *tree);
    EXPECT_TRUE(j.ok()) << j.status().ToString();
    return std::make_unique<Harness>(Quota{}, std::move(*j), std::move(tree));
  }
  testing::TempDir dir_;
};

TEST_F(JournalTest, CommittedStateSurvivesRestart) {
  {
    auto h = Open();
    ConnId c = h->Connect(0);
    h->Write(c, "/keep/a", "1");
    h->Ask(c, MsgType::kSetPerms, "/keep/a\0b4\0"s);
    uint32_t t = h->Start(c);
    h->Write(c, "/keep/b", "2", t);
    h->End(c, t, true);
    uint32_t aborted = h->Start(c);
    h->Write(c, "/keep/never", "x", aborted);
    h->End(c, aborted, false);
    h->Write(c, "/drop/x", "y");
    h->Ask(c, MsgType::kRm, "/drop\0"s);
    ASSERT_TRUE(h->store.Sync().ok());
  }
  auto h = Open();
  ConnId c = h->Connect(0);
  EXPECT_EQ(h->Read(c, "/keep/a"), "1");
  EXPECT_EQ(h->Ask(c, MsgType::kGetPerms, "/keep/a\0"s), "b4\0"s);
  EXPECT_EQ(h->Read(c, "/keep/b"), "2");
  EXPECT_EQ(h->Read(c, "/keep/never"), "ERR:ENOENT");
  EXPECT_EQ(h->Read(c, "/drop"), "ERR:ENOENT");
  EXPECT_EQ(h->Read(c, "/local/domain"), "");
}

TEST_F(JournalTest, ReadsWriteNothingAndWritesAreProportional) {
  auto h = Open();
  ConnId c = h->Connect(0);
  h->Write(c, "/x", "v");
  ASSERT_TRUE(h->store.Sync().ok());
  uint64_t after_write = h->store.stats().disk_bytes_written;
  EXPECT_GT(after_write, 0u);
  EXPECT_LT(after_write, 100u);
  for (int i = 0; i < 10; ++i) h->Read(c, "/x");
  uint32_t t = h->Start(c);
  h->Read(c, "/x", t);
  h->End(c, t, true);
  ASSERT_TRUE(h->store.Sync().ok());
  EXPECT_EQ(h->store.stats().disk_bytes_written, after_write);
  for (int i = 0; i < 1000; ++i) h->Write(c, "/bulk/" + std::to_string(i), std::string(100, 'z'));
  ASSERT_TRUE(h->store.Sync().ok());
  uint64_t before = h->store.stats().disk_bytes_written;
  h->Write(c, "/bulk/0", "small");
  ASSERT_TRUE(h->store.Sync().ok());
  EXPECT_LT(h->store.stats().disk_bytes_written - before, 100u);  // not a copy of the store
}

TEST_F(JournalTest, TornLastRecordIsDiscarded) {
  {
    auto h = Open();
    ConnId c = h->Connect(0);
    h->Write(c, "/good", "1");
    h->Write(c, "/torn", "2");
    ASSERT_TRUE(h->store.Sync().ok());
  }
  std::string journal = dir_.path() + "/db/journal";
  auto size = std::filesystem::file_size(journal);
  std::filesystem::resize_file(journal, size - 3);  // the crash cut the last record
  {
    auto h = Open();
    ConnId c = h->Connect(0);
    EXPECT_EQ(h->Read(c, "/good"), "1");
    EXPECT_EQ(h->Read(c, "/torn"), "ERR:ENOENT");
    h->Write(c, "/after", "3");  // appends after the cut, not after garbage
    ASSERT_TRUE(h->store.Sync().ok());
  }
  auto h = Open();
  EXPECT_EQ(h->Read(h->Connect(0), "/after"), "3");
}

// Caps the size of files this process writes (write() fails with EFBIG past it,
// as on a full disk) while in scope; SIGXFSZ is ignored meanwhile.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    getrlimit(RLIMIT_FSIZE, &saved_);
    old_handler_ = signal(SIGXFSZ, SIG_IGN);
    rlimit limit{bytes, saved_.rlim_max};
    setrlimit(RLIMIT_FSIZE, &limit);
  }
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &saved_);
    signal(SIGXFSZ, old_handler_);
  }

 private:
  rlimit saved_{};
  sighandler_t old_handler_;
};

TEST_F(JournalTest, CommitsTheJournalCannotTakeAreRefusedAndLeaveNoTrace) {
  std::string journal = dir_.path() + "/db/journal";
  {
    auto h = Open();
    ConnId c = h->Connect(0), watcher = h->Connect(0);
    EXPECT_EQ(h->Write(c, "/a", "1"), kOk);
    ASSERT_TRUE(h->store.Sync().ok());
    EXPECT_EQ(h->Ask(watcher, MsgType::kWatch, "/b\0w\0"s), kOk);
    h->events.clear();
    uint32_t t = h->Start(c);
    {
      // Room for part of a record only: the write is torn, then fails.
      FileSizeLimit full(std::filesystem::file_size(journal) + 12);
      EXPECT_EQ(h->Write(c, "/b", "2"), "ERR:ENOSPC");
      EXPECT_EQ(h->Write(c, "/b/deeper", "3", t), kOk);
      EXPECT_EQ(h->End(c, t, true), "ERR:ENOSPC");
      EXPECT_EQ(h->Read(c, "/b"), "ERR:ENOENT") << "a refused commit was applied";
      EXPECT_EQ(h->Read(c, "/a"), "1") << "reads go on while degraded";
      EXPECT_TRUE(h->store.degraded());
      EXPECT_TRUE(h->events[watcher].empty()) << "a refused commit fired a watch";
      EXPECT_TRUE(h->store.Sync().ok());
    }
    EXPECT_EQ(h->store.stats().commits_refused, 2u);
    EXPECT_EQ(h->Write(c, "/c", "4"), kOk);  // room again
    EXPECT_FALSE(h->store.degraded());
    ASSERT_TRUE(h->store.Sync().ok());
  }
  auto h = Open();
  ConnId c = h->Connect(0);
  EXPECT_EQ(h->Read(c, "/a"), "1");
  EXPECT_EQ(h->Read(c, "/b"), "ERR:ENOENT");
  EXPECT_EQ(h->Read(c, "/c"), "4") << "the commit after the failed one is lost";
}

}  // namespace
}  // namespace txend::xsd
