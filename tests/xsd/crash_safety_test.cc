// xsd with --persist, SIGKILLed at random moments while several clients
// commit transactions: every acknowledged commit survives each restart, and
// no transaction is ever half-applied. Each transaction bumps a shared
// counter (so clients conflict), rewrites its client's keys with a new
// sequence number, and creates or removes a marker node: after every restart
// the keys of a client agree, the marker matches, the sequence lies between
// the last acknowledged and the last attempted commit, and the counter equals
// the sum of all sequences.
#include <signal.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "tests/support/daemon_process.h"
#include "toolstack/xs/connection.h"
#include "toolstack/xs/transaction.h"

namespace txend::xsd {
namespace {

using testing::StartXsd;
using testing::TempDir;

constexpr int kClients = 4;
constexpr int kKills = 30;
constexpr int kKeys = 3;
// Large values make the journal outgrow 4 MiB every few hundred commits, so
// kills also land during snapshot compaction.
const std::string kPadding(3000, 'p');

std::string Key(int client, int k) {
  return "/crash/c" + std::to_string(client) + "/k" + std::to_string(k);
}
std::string Marker(int client) { return "/crash/c" + std::to_string(client) + "/odd"; }
std::string Value(uint64_t seq) { return std::to_string(seq) + ":" + kPadding; }

// What a client knows of its own commits. Written by the client, resynced by
// the test after each restart, while the client waits.
struct ClientLog {
  std::atomic<uint64_t> acked{0};      // last sequence whose commit was acknowledged
  std::atomic<uint64_t> attempted{0};  // last sequence sent for commit
  std::atomic<uint64_t> commits{0};    // acknowledged commits over the whole run
  std::atomic<uint64_t> conflicts{0};
};

class CrashSafety : public ::testing::Test {
 protected:
  void StartDaemon() {
    auto d = StartXsd(sock_, {"--persist", dir_ / "db"});
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    xsd_ = std::move(*d);
  }

  // One client: commits sequence acked+1 over and over; after losing the
  // daemon it waits for the test to restart and verify, then reconnects.
  void RunClient(int id) {
    ClientLog& log = logs_[id];
    uint64_t generation = 0;
    std::unique_ptr<xs::Connection> conn;
    while (!stop_) {
      if (!conn || !conn->alive()) {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stop_ || generation_ > generation; });
        if (stop_) return;
        generation = generation_;
        lock.unlock();
        auto c = xs::Connection::Open(sock_);
        conn = c.ok() ? std::move(*c) : nullptr;
        continue;
      }
      Commit(id, *conn, log);
    }
  }

  void Commit(int id, xs::Connection& conn, ClientLog& log) {
    uint64_t seq = log.acked + 1;
    auto tx = xs::Transaction::Begin(conn);
    if (!tx.ok()) return;
    auto total = tx->ReadIfExists("/crash/total");
    if (!total.ok()) return;
    std::vector<xs::Transaction::NodeWrite> writes{
        {"/crash/total", std::to_string(total->has_value() ? std::stoull(**total) + 1 : 1),
         std::nullopt}};
    for (int k = 0; k < kKeys; ++k) writes.push_back({Key(id, k), Value(seq), std::nullopt});
    if (seq % 2) writes.push_back({Marker(id), "1", std::nullopt});
    if (!tx->WriteMany(writes).ok()) return;
    if (seq % 2 == 0 && !tx->RmMany(std::vector<std::string>{Marker(id)}, true).ok()) return;
    log.attempted = seq;
    Status st = tx->Commit();
    if (st.ok()) {
      log.acked = seq;
      ++log.commits;
    } else if (st.code() == EAGAIN) {
      ++log.conflicts;
    }
  }

  // With every client cut off: the store holds each client's acknowledged
  // commit (or the one in flight), whole. Then resyncs the clients' logs.
  void VerifyAndResync() {
    auto c = xs::Connection::Open(sock_);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    auto snap = xs::Snapshot::Begin(**c);
    ASSERT_TRUE(snap.ok());
    uint64_t sum = 0;
    std::vector<uint64_t> found(kClients);
    for (int id = 0; id < kClients; ++id) {
      ClientLog& log = logs_[id];
      auto first = snap->ReadIfExists(Key(id, 0));
      ASSERT_TRUE(first.ok());
      uint64_t seq = first->has_value() ? std::stoull(**first) : 0;
      for (int k = 1; k < kKeys; ++k) {
        auto v = snap->ReadIfExists(Key(id, k));
        ASSERT_TRUE(v.ok());
        EXPECT_EQ(v->value_or("absent"), seq ? Value(seq) : "absent")
            << "client " << id << " key " << k << " half-applied";
      }
      auto marker = snap->ReadIfExists(Marker(id));
      ASSERT_TRUE(marker.ok());
      EXPECT_EQ(marker->has_value(), seq % 2 == 1)
          << "client " << id << " marker disagrees with sequence " << seq;
      EXPECT_GE(seq, log.acked.load()) << "client " << id << ": acknowledged commit lost";
      EXPECT_LE(seq, log.attempted.load())
          << "client " << id << ": commit never attempted is present";
      found[id] = seq;
      sum += seq;
    }
    auto total = snap->ReadIfExists("/crash/total");
    ASSERT_TRUE(total.ok());
    EXPECT_EQ(total->has_value() ? std::stoull(**total) : 0, sum)
        << "shared counter disagrees with the clients' keys";
    for (int id = 0; id < kClients; ++id) logs_[id].acked = logs_[id].attempted = found[id];
  }

  void Release() {
    std::lock_guard lock(mu_);
    ++generation_;
    cv_.notify_all();
  }

  void StopClients(std::vector<std::thread>& clients) {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
      cv_.notify_all();
    }
    for (auto& t : clients) t.join();
  }

  TempDir dir_;
  std::string sock_ = dir_ / "socket";
  std::unique_ptr<testing::DaemonProcess> xsd_;
  ClientLog logs_[kClients];
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t generation_ = 0;
  std::atomic<bool> stop_{false};
};

TEST_F(CrashSafety, AcknowledgedCommitsSurviveRepeatedSigkillAndNoneIsHalfApplied) {
  StartDaemon();
  std::vector<std::thread> clients;
  for (int id = 0; id < kClients; ++id) clients.emplace_back([this, id] { RunClient(id); });
  Release();
  std::mt19937 rng(std::random_device{}());
  uint64_t compactions = 0, journal_records = 0;
  int kills = 0;
  for (; kills < kKills && !HasFatalFailure(); ++kills) {
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::uniform_int_distribution<>(20, 250)(rng)));
    auto stat = [&](const char* name) {
      uint64_t v = testing::XsdStat(sock_, name);
      return v == ~0ull ? 0 : v;
    };
    compactions += stat("compactions");
    journal_records += stat("journal_records");
    xsd_->Stop(SIGKILL);
    StartDaemon();
    VerifyAndResync();
    Release();
  }
  StopClients(clients);
  VerifyAndResync();
  uint64_t commits = 0, conflicts = 0;
  for (const auto& log : logs_) {
    commits += log.commits;
    conflicts += log.conflicts;
  }
  printf(
      "crash-safety: %d SIGKILLs survived, %llu commits acknowledged (%llu conflicts retried), "
      "%llu journal records, >= %llu snapshot compactions, 0 acknowledged commits lost\n",
      kills, static_cast<unsigned long long>(commits), static_cast<unsigned long long>(conflicts),
      static_cast<unsigned long long>(journal_records),
      static_cast<unsigned long long>(compactions));
  EXPECT_EQ(kills, kKills);
  EXPECT_GT(commits, static_cast<uint64_t>(kKills)) << "too few commits to prove anything";
}

}  // namespace
}  // namespace txend::xsd
