// The xenstore client against a real xsd process on a temporary socket.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <thread>

#include <gtest/gtest.h>

#include "base/unique_fd.h"
#include "tests/support/daemon_process.h"
#include "tests/support/eventually.h"
#include "toolstack/xs/connection.h"
#include "toolstack/xs/transaction.h"
#include "wire/write_generation.h"

namespace txend::xs {
namespace {

using testing::StartXsd;
using testing::TempDir;

class XsClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = StartXsd(dir_ / "socket");
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    xsd_ = std::move(*d);
    auto c = Connection::Open(dir_ / "socket");
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    conn_ = std::move(*c);
  }

  // Writes `value` at `path` in its own committed transaction.
  void Put(const std::string& path, const std::string& value) {
    Status st = RunTransaction(*conn_, [&](Transaction& tx) { return tx.Write(path, value); });
    ASSERT_TRUE(st.ok()) << st.ToString();
  }

  TempDir dir_;
  std::unique_ptr<testing::DaemonProcess> xsd_;
  std::unique_ptr<Connection> conn_;
};

TEST_F(XsClientTest, CommittedWriteIsVisibleInLaterSnapshot) {
  Put("/test/a", "hello");
  auto snap = Snapshot::Begin(*conn_);
  ASSERT_TRUE(snap.ok());
  EXPECT_EQ(snap->Read("/test/a").value_or("?"), "hello");
  auto missing = snap->ReadIfExists("/test/nope");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
  auto err = snap->Read("/test/nope");
  ASSERT_FALSE(err.ok());
  EXPECT_EQ(err.status().code(), ENOENT);
  EXPECT_NE(err.status().message().find("/test/nope"), std::string::npos);
}

TEST_F(XsClientTest, AbortedTransactionLeavesNoTrace) {
  {
    auto tx = Transaction::Begin(*conn_);
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(tx->Write("/test/gone", "x").ok());
    EXPECT_EQ(tx->Read("/test/gone").value_or("?"), "x");  // own writes visible
  }                                                        // destroyed without commit: aborted
  auto snap = Snapshot::Begin(*conn_);
  EXPECT_EQ(snap->Read("/test/gone").status().code(), ENOENT);
}

TEST_F(XsClientTest, SnapshotIsIsolatedFromLaterCommits) {
  Put("/test/v", "1");
  auto snap = Snapshot::Begin(*conn_);
  ASSERT_TRUE(snap.ok());
  Put("/test/v", "2");
  EXPECT_EQ(snap->Read("/test/v").value_or("?"), "1");
  auto fresh = Snapshot::Begin(*conn_);
  EXPECT_EQ(fresh->Read("/test/v").value_or("?"), "2");
}

TEST_F(XsClientTest, ConflictingCommitGetsEagainAndRetryHelperRerunsBody) {
  Put("/test/counter", "0");
  auto tx = Transaction::Begin(*conn_);
  ASSERT_TRUE(tx.ok());
  ASSERT_EQ(tx->Read("/test/counter").value_or("?"), "0");
  ASSERT_TRUE(tx->Write("/test/counter", "1").ok());
  Put("/test/counter", "5");  // an intervening commit on a node tx read
  EXPECT_EQ(tx->Commit().code(), EAGAIN);

  int runs = 0;
  bool interfered = false;
  Status st = RunTransaction(*conn_, [&](Transaction& t) -> Status {
    ++runs;
    auto v = t.Read("/test/counter");
    if (!v.ok()) return v.status();
    if (!interfered) {  // first run: someone else commits meanwhile
      interfered = true;
      Put("/test/counter", "7");
    }
    return t.Write("/test/counter", std::to_string(std::stoi(*v) + 1));
  });
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(Snapshot::Begin(*conn_)->Read("/test/counter").value_or("?"), "8");
}

TEST_F(XsClientTest, DisjointTransactionsBothCommit) {
  Put("/test/x", "0");
  Put("/test/y", "0");
  auto a = Transaction::Begin(*conn_);
  auto b = Transaction::Begin(*conn_);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(a->Write("/test/x", "a").ok());
  ASSERT_TRUE(b->Write("/test/y", "b").ok());
  EXPECT_TRUE(a->Commit().ok());
  EXPECT_TRUE(b->Commit().ok());
}

TEST_F(XsClientTest, ResultOfBodyIsReturnedAfterCommit) {
  Put("/test/r", "42");
  Result<int> r = RunTransaction(*conn_, [](Transaction& tx) -> Result<int> {
    TXEND_ASSIGN_OR_RETURN(std::string v, tx.Read("/test/r"));
    return std::stoi(v);
  });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 42);
  Result<int> failed = RunTransaction(*conn_, [](Transaction& tx) -> Result<int> {
    TXEND_ASSIGN_OR_RETURN(std::string v, tx.Read("/test/none"));
    return 0;
  });
  EXPECT_EQ(failed.status().code(), ENOENT);
}

TEST_F(XsClientTest, PipelinedWritesAndReadsKeepOrderAndPerEntryErrors) {
  std::vector<Transaction::NodeWrite> writes;
  for (int i = 0; i < 200; ++i)
    writes.push_back({"/test/many/" + std::to_string(i), "v" + std::to_string(i), std::nullopt});
  writes.push_back({"/test/many/owned", "o", MakePerms(7, Access::kRead)});
  Status st = RunTransaction(*conn_, [&](Transaction& tx) { return tx.WriteMany(writes); });
  ASSERT_TRUE(st.ok()) << st.ToString();

  std::vector<std::string> paths;
  for (int i = 0; i < 200; ++i) paths.push_back("/test/many/" + std::to_string(i));
  paths.push_back("/test/many/missing");
  auto snap = Snapshot::Begin(*conn_);
  auto values = snap->ReadMany(paths);
  ASSERT_EQ(values.size(), 201u);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(values[i].value_or("?"), "v" + std::to_string(i));
  EXPECT_EQ(values[200].status().code(), ENOENT);
  auto perms = snap->GetPerms("/test/many/owned");
  ASSERT_TRUE(perms.ok()) << perms.status().ToString();
  EXPECT_EQ(*perms, MakePerms(7, Access::kRead));
}

TEST_F(XsClientTest, LargeDirectoryIsListedCompletely) {
  std::vector<Transaction::NodeWrite> writes;
  for (int i = 0; i < 1500; ++i)
    writes.push_back({"/test/big/child-number-" + std::to_string(i), "", std::nullopt});
  ASSERT_TRUE(RunTransaction(*conn_, [&](Transaction& tx) { return tx.WriteMany(writes); }).ok());
  auto snap = Snapshot::Begin(*conn_);
  auto names = snap->Directory("/test/big");
  ASSERT_TRUE(names.ok()) << names.status().ToString();
  EXPECT_EQ(names->size(), 1500u);
  auto many = snap->DirectoryMany(std::vector<std::string>{"/test/big", "/test/nothing"});
  ASSERT_TRUE(many[0].ok());
  EXPECT_EQ(many[0]->size(), 1500u);
  EXPECT_EQ(many[1].status().code(), ENOENT);
}

TEST_F(XsClientTest, WatchFiresInitiallyAndOnCommittedChangesOnly) {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> events;
  auto watch = conn_->AddWatch("/test/w", [&](const std::string& path, const std::string&) {
    std::lock_guard lock(mu);
    events.push_back(path);
    cv.notify_all();
  });
  ASSERT_TRUE(watch.ok()) << watch.status().ToString();
  auto wait_for = [&](size_t n) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(5), [&] { return events.size() >= n; });
  };
  ASSERT_TRUE(wait_for(1));
  EXPECT_EQ(events[0], "/test/w");

  auto tx = Transaction::Begin(*conn_);
  ASSERT_TRUE(tx->Write("/test/w/inner", "1").ok());
  tx->Abort();  // aborted: no event
  Put("/test/w/inner", "2");
  ASSERT_TRUE(wait_for(2));
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(events.size(), 2u);
    EXPECT_EQ(events[1], "/test/w/inner");
  }
  { auto gone = std::move(*watch); }  // unwatched here
  Put("/test/w/inner", "3");
  // Events arrive in order: once a later watch's initial event is seen, any
  // event of the removed watch would have been delivered before it.
  auto marker = conn_->AddWatch("/test/marker", [&](const std::string&, const std::string&) {
    std::lock_guard lock(mu);
    events.push_back("marker");
    cv.notify_all();
  });
  ASSERT_TRUE(marker.ok());
  ASSERT_TRUE(wait_for(3));
  std::lock_guard lock(mu);
  EXPECT_EQ(events.back(), "marker");
  EXPECT_EQ(events.size(), 3u);
}

// A reader-thread watch has seen every write another client had acknowledged
// before Sync began: what a cache needs to never serve a value older than a
// write its caller knows has happened.
TEST_F(XsClientTest, AfterSyncAReaderWatchHasSeenEveryWriteAcknowledgedBefore) {
  auto c = Connection::Open(dir_ / "socket");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  std::unique_ptr<Connection> writer = std::move(*c);
  std::atomic<int> seen{0};
  auto watch = conn_->AddWatch(
      "/test/sync",
      [&](const std::string& path, const std::string&) {
        if (path == "/test/sync") ++seen;
      },
      WatchDelivery::kReader);
  ASSERT_TRUE(watch.ok()) << watch.status().ToString();
  ASSERT_TRUE(conn_->Sync().ok());
  ASSERT_EQ(seen.load(), 1);  // the daemon's initial event
  int missed = 0;
  for (int i = 0; i < 200; ++i) {
    Status st = RunTransaction(
        *writer, [&](Transaction& tx) { return tx.Write("/test/sync", std::to_string(i)); });
    ASSERT_TRUE(st.ok()) << st.ToString();
    ASSERT_TRUE(conn_->Sync().ok());
    if (seen.load() != i + 2) ++missed;
  }
  EXPECT_EQ(missed, 0);
}

// The thread waiting for a reply reads it itself (no reader thread between it
// and the socket): a reader-delivery watch's event that arrives before the
// reply is handed over on the caller's own thread. The watching connection's
// quiet window is long, so its own thread never reads between the calls (with
// 3 ms, a slow sanitizer build's writer let it read one event in 20).
TEST_F(XsClientTest, ACallerReadsItsOwnReplyAndTheEventsBeforeIt) {
  auto c = Connection::Open(dir_ / "socket");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  std::unique_ptr<Connection> writer = std::move(*c);
  ConnectionOptions patient;
  patient.quiet_after = std::chrono::minutes(1);
  auto w = Connection::Open(dir_ / "socket", patient);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  std::unique_ptr<Connection> watcher = std::move(*w);
  std::mutex mu;
  std::vector<std::thread::id> threads;
  auto watch = watcher->AddWatch(
      "/test/own",
      [&](const std::string&, const std::string&) {
        std::lock_guard lock(mu);
        threads.push_back(std::this_thread::get_id());
      },
      WatchDelivery::kReader);
  ASSERT_TRUE(watch.ok()) << watch.status().ToString();
  ASSERT_TRUE(watcher->Sync().ok());
  for (int i = 0; i < 20; ++i) {
    Status st = RunTransaction(
        *writer, [&](Transaction& tx) { return tx.Write("/test/own", std::to_string(i)); });
    ASSERT_TRUE(st.ok()) << st.ToString();
    ASSERT_TRUE(watcher->Sync().ok());
  }
  std::lock_guard lock(mu);
  ASSERT_EQ(threads.size(), 21u);
  int here =
      static_cast<int>(std::count(threads.begin() + 1, threads.end(), std::this_thread::get_id()));
  EXPECT_EQ(here, 20) << "events read by another thread than the caller waiting for the reply";
}

// No call in flight: the connection's own thread reads, so watch events of
// both deliveries still arrive.
TEST_F(XsClientTest, AnIdleConnectionStillDeliversWatchEvents) {
  auto c = Connection::Open(dir_ / "socket");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  std::unique_ptr<Connection> writer = std::move(*c);
  std::atomic<int> reader_events{0}, thread_events{0};
  auto a = conn_->AddWatch(
      "/test/idle", [&](const std::string&, const std::string&) { ++reader_events; },
      WatchDelivery::kReader);
  auto b = conn_->AddWatch("/test/idle",
                           [&](const std::string&, const std::string&) { ++thread_events; });
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(testing::Eventually(std::chrono::seconds(5),
                                  [&] { return reader_events == 1 && thread_events == 1; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // callers long quiet
  Status st = RunTransaction(*writer, [&](Transaction& tx) { return tx.Write("/test/idle", "x"); });
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_TRUE(testing::Eventually(std::chrono::seconds(5),
                                  [&] { return reader_events == 2 && thread_events == 2; }))
      << reader_events << " " << thread_events;
}

TEST_F(XsClientTest, ControlStatsCountsTransactions) {
  auto before = conn_->Control({"stats"});
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  EXPECT_NE(before->find("transactions_started"), std::string::npos);
}

TEST_F(XsClientTest, DomainPathAndIntroductionQueries) {
  EXPECT_EQ(conn_->GetDomainPath(7).value_or("?"), "/local/domain/7");
  auto introduced = conn_->IsDomainIntroduced(0);
  ASSERT_TRUE(introduced.ok());
  EXPECT_TRUE(*introduced);
}

TEST_F(XsClientTest, ManyThreadsShareOneConnection) {
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        std::string path = "/test/threads/" + std::to_string(t);
        Status st = RunTransaction(
            *conn_, [&](Transaction& tx) { return tx.Write(path, std::to_string(i)); });
        if (!st.ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  auto snap = Snapshot::Begin(*conn_);
  for (int t = 0; t < 8; ++t)
    EXPECT_EQ(snap->Read("/test/threads/" + std::to_string(t)).value_or("?"), "49");
}

TEST_F(XsClientTest, DaemonDeathFailsCallsInsteadOfHanging) {
  xsd_->Stop(SIGKILL);
  auto snap = Snapshot::Begin(*conn_);
  ASSERT_FALSE(snap.ok());
  EXPECT_EQ(snap.status().code(), ECONNRESET);
  EXPECT_FALSE(conn_->alive());
}

// A daemon that accepts but never answers: the call fails at its timeout
// instead of waiting for ever, and says which request went unanswered.
TEST(XsClientOpen, AStuckDaemonsCallTimesOut) {
  TempDir dir;
  std::string path = dir / "stuck";
  UniqueFd listener(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  ASSERT_LT(path.size(), sizeof addr.sun_path);
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  ASSERT_EQ(bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(listener.get(), 4), 0);
  auto c = Connection::Open(path, ConnectionOptions{std::chrono::milliseconds(200)});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto start = std::chrono::steady_clock::now();
  auto r = (*c)->GetDomainPath(0);
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ETIMEDOUT);
  EXPECT_NE(r.status().message().find("GET_DOMAIN_PATH"), std::string::npos)
      << r.status().ToString();
  EXPECT_GE(took, std::chrono::milliseconds(200));
  EXPECT_LT(took, std::chrono::seconds(10));
  EXPECT_TRUE((*c)->alive());
}

// xsd's write generation: raised by every write, before its acknowledgement;
// a read leaves it; gone (nullopt) once the daemon is.
TEST_F(XsClientTest, TheWriteGenerationRisesWithWritesOnly) {
  auto first = conn_->PublishedWriteGeneration();
  ASSERT_TRUE(first.has_value()) << "xsd shares no write generation beside its socket";
  auto other = Connection::Open(dir_ / "socket");
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(RunTransaction(**other, [](Transaction& tx) { return tx.Write("/g", "1"); }).ok());
  auto written = conn_->PublishedWriteGeneration();
  ASSERT_TRUE(written.has_value());
  EXPECT_GT(*written, *first) << "a write acknowledged to another client left it";
  auto snap = Snapshot::Begin(*conn_);
  ASSERT_TRUE(snap.ok());
  EXPECT_TRUE(snap->Read("/g").ok());
  EXPECT_EQ(conn_->PublishedWriteGeneration(), written) << "a read raised it";
  xsd_->Stop(SIGKILL);
  ASSERT_TRUE(testing::Eventually(std::chrono::seconds(5), [&] { return !conn_->alive(); }));
  EXPECT_FALSE(conn_->PublishedWriteGeneration().has_value()) << "the loss was noticed";
}

// A page that is not the peer's (another process wrote it), or not a file at all
// (a FIFO, which would block an open): no generation, and no hang.
TEST(XsClientOpen, AWriteGenerationNotWrittenByThePeerIsIgnored) {
  TempDir dir;
  std::string socket = dir / "socket";
  auto d = StartXsd(socket);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  std::string page = socket + ".generation";
  ASSERT_EQ(unlink(page.c_str()), 0);
  ASSERT_EQ(mkfifo(page.c_str(), 0600), 0);
  auto fifo = Connection::Open(socket);
  ASSERT_TRUE(fifo.ok());
  EXPECT_FALSE((*fifo)->PublishedWriteGeneration().has_value());
  ASSERT_EQ(unlink(page.c_str()), 0);
  {
    wire::WriteGenerationPage forged;
    forged.pid = getpid();
    std::ofstream(page, std::ios::binary)
            .write(reinterpret_cast<const char*>(&forged), sizeof forged)
        << std::string(4096 - sizeof forged, '\0');
  }
  auto other = Connection::Open(socket);
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE((*other)->PublishedWriteGeneration().has_value());
  EXPECT_TRUE((*other)->GetDomainPath(0).ok());  // the connection itself serves
}

TEST(XsClientOpen, MissingSocketIsAClearError) {
  TempDir dir;
  auto c = Connection::Open(dir / "nothing-here");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("nothing-here"), std::string::npos);
}

}  // namespace
}  // namespace txend::xs
