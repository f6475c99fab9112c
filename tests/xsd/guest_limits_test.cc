// One guest against dom0's resources, each way on its own: file descriptors
// (many connections), memory (watch events it never reads, queued across its
// connections; transactions it never ends), CPU (request and event storms),
// and an xsd that runs out of file descriptors. Each limit is set small on
// the command line so the test is quick; the defaults are the same code.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <sys/socket.h>
#include <thread>

#include <gtest/gtest.h>

#include "tests/support/daemon_process.h"
#include "tests/support/eventually.h"
#include "tests/support/process_usage.h"
#include "tests/support/raw_wire.h"
#include "tests/support/sockets.h"
#include "toolstack/xs/connection.h"
#include "toolstack/xs/plain.h"

namespace txend::xsd {
namespace {

using testing::AskRaw;
using testing::Eventually;
using wire::MsgType;
using namespace std::string_literals;
using Clock = std::chrono::steady_clock;

constexpr uint32_t kGuest = 1;

std::string Reply(const std::optional<wire::Message>& m) {
  if (!m) return "(no reply)";
  return m->payload.substr(0, m->payload.find('\0'));
}

// Under ASan, freed memory waits in a quarantine before reuse, so peak RSS
// would count what xsd gave back; without the quarantine it counts what xsd holds.
#if defined(__SANITIZE_ADDRESS__)
constexpr const char* kSanitizerEnv =
    "export "
    "ASAN_OPTIONS=\"$ASAN_OPTIONS:quarantine_size_mb=0:thread_local_quarantine_size_kb=0\"; ";
#else
constexpr const char* kSanitizerEnv = "";
#endif

class GuestLimits : public ::testing::Test {
 protected:
  // Starts xsd with `args` (after `shell_prefix`, e.g. a ulimit) and introduces the guest.
  void Start(std::vector<std::string> args, const std::string& shell_prefix = "") {
    std::vector<std::string> argv{"/bin/sh",
                                  "-c",
                                  kSanitizerEnv + shell_prefix + "exec \"$0\" \"$@\"",
                                  testing::BinPath("xsd"),
                                  "--no-fork",
                                  "--socket",
                                  sock(),
                                  "--domain-sockets",
                                  dir_ / "domains"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto d = testing::DaemonProcess::Start(argv, sock());
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    xsd_ = std::move(*d);
    auto c = xs::Connection::Open(sock());
    ASSERT_TRUE(c.ok());
    dom0_ = std::move(*c);
    ASSERT_TRUE(dom0_->Introduce(kGuest, 1001, 11).ok());
    ASSERT_TRUE(xs::PlainWrite(*dom0_, "/local/domain/1/name", "guest").ok());
    for (const char* path : {"/local/domain/1", "/local/domain/1/name"})
      ASSERT_TRUE(dom0_->Call(MsgType::kSetPerms, 0, path + "\0n1\0"s).ok());
  }
  void TearDown() override {
    for (int fd : fds_) close(fd);
  }

  std::string sock() const { return dir_ / "socket"; }
  // A connection acting as the guest; closed at the end of the test.
  int Dial() {
    int fd = testing::DialUnix(dir_ / "domains/1", 2);
    if (fd >= 0) fds_.push_back(fd);
    return fd;
  }
  uint64_t Stat(const std::string& name) { return testing::XsdStat(*dom0_, name); }

  testing::TempDir dir_;
  std::unique_ptr<testing::DaemonProcess> xsd_;
  std::unique_ptr<xs::Connection> dom0_;
  std::vector<int> fds_;
};

TEST_F(GuestLimits, AGuestGetsNoMoreConnectionsThanItsQuota) {
  ASSERT_NO_FATAL_FAILURE(Start({"-Q", "connections=4"}));
  int fds_before = testing::FdCount(xsd_->pid());
  std::vector<int> conns;
  for (int i = 0; i < 40; ++i) conns.push_back(Dial());
  int served = 0, refused = 0;
  for (int fd : conns)
    (Reply(AskRaw(fd, MsgType::kRead, "name\0"s)) == "guest" ? served : refused)++;
  EXPECT_EQ(served, 4);
  EXPECT_EQ(refused, 36) << "connections past the quota should be closed at once";
  EXPECT_EQ(Stat("connections_refused"), 36u);
  EXPECT_LE(testing::FdCount(xsd_->pid()), fds_before + 4) << "xsd holds the refused ones";
  EXPECT_EQ(Reply(AskRaw(conns[0], MsgType::kRead, "name\0"s)), "guest");
  close(conns[0]);
  fds_.erase(std::find(fds_.begin(), fds_.end(), conns[0]));
  EXPECT_TRUE(Eventually(std::chrono::seconds(5), [&] {
    return Reply(AskRaw(Dial(), MsgType::kRead, "name\0"s)) == "guest";
  })) << "a freed slot is not given to a new connection";
}

// A connection that never reads, with a big read buffer on our side so the
// kernel holds little and xsd must queue: its watch fires on every write.
int DeafWatcher(int fd, const std::string& token) {
  int small = 4096;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  std::string watch =
      wire::Encode(MsgType::kWatch, 1, 0, "/local/domain/1/flood\0"s + token + '\0');
  testing::SendAll(fd, watch);
  return fd;
}

TEST_F(GuestLimits, WatchEventsAGuestDoesNotReadAreCappedAcrossItsConnections) {
  ASSERT_NO_FATAL_FAILURE(Start({"-Q", "queued-bytes=262144"}));
  long rss_before = testing::PeakRssKiB(xsd_->pid());
  std::string token(3000, 't');  // ~3 KiB per event and connection
  for (int i = 0; i < 8; ++i) DeafWatcher(Dial(), token + std::to_string(i));
  // dom0 writes below the guest's home: 2000 writes, ~48 MiB of events for 8 connections.
  for (int i = 0; i < 2000; ++i)
    ASSERT_TRUE(xs::PlainWrite(*dom0_, "/local/domain/1/flood/n", std::to_string(i)).ok());
  long rss_after = testing::PeakRssKiB(xsd_->pid());
  EXPECT_EQ(Stat("connections_dropped"), 8u) << "deaf connections should be dropped";
  EXPECT_LT(rss_after - rss_before, 8 << 10)
      << "xsd grew by " << (rss_after - rss_before) << " KiB for one guest's unread events";
  int fresh = Dial();
  EXPECT_EQ(Reply(AskRaw(fresh, MsgType::kRead, "name\0"s)), "guest");
  printf(
      "queued-events: xsd peak RSS %ld KiB before, %ld KiB after 2000 writes to 8 deaf watchers\n",
      rss_before, rss_after);
}

TEST_F(GuestLimits, TransactionsAGuestLeavesOpenExpire) {
  ASSERT_NO_FATAL_FAILURE(Start({"-w", "transaction=1"}));
  int fd = Dial();
  std::vector<uint32_t> txs;
  for (int i = 0; i < 10; ++i) {
    auto start = AskRaw(fd, MsgType::kTransactionStart, "\0"s);
    ASSERT_NE(Reply(start).find_first_of("0123456789"), std::string::npos) << Reply(start);
    txs.push_back(std::stoul(start->payload));
    EXPECT_EQ(Reply(AskRaw(fd, MsgType::kWrite, "held\0v"s, txs.back())), "OK");
  }
  EXPECT_EQ(Reply(AskRaw(fd, MsgType::kTransactionStart, "\0"s)), "ENOSPC");
  auto dom0_tx = dom0_->Call(MsgType::kTransactionStart, 0, "\0"s);
  ASSERT_TRUE(dom0_tx.ok());
  uint32_t dom0_id = std::stoul(*dom0_tx);
  // The whole tree changes under the open transactions (they would pin it).
  for (int i = 0; i < 200; ++i)
    ASSERT_TRUE(xs::PlainWrite(*dom0_, "/big/" + std::to_string(i), std::string(1000, 'b')).ok());

  EXPECT_TRUE(
      Eventually(std::chrono::seconds(5), [&] { return Stat("transactions_expired") == 10; }));
  EXPECT_EQ(Stat("open_transactions"), 1u) << "only dom0's transaction should be left";
  EXPECT_EQ(Reply(AskRaw(fd, MsgType::kRead, "held\0"s, txs[0])), "EAGAIN");
  EXPECT_EQ(Reply(AskRaw(fd, MsgType::kTransactionEnd, "T\0"s, txs[0])), "EAGAIN");
  EXPECT_EQ(Reply(AskRaw(fd, MsgType::kTransactionEnd, "F\0"s, txs[1])), "OK");
  EXPECT_EQ(Reply(AskRaw(fd, MsgType::kTransactionEnd, "T\0"s, txs[1])), "ENOENT");
  EXPECT_NE(Reply(AskRaw(fd, MsgType::kTransactionStart, "\0"s)), "ENOSPC")
      << "ending expired transactions should free the quota";
  EXPECT_TRUE(dom0_->Call(MsgType::kWrite, dom0_id, "/dom0/late\0yes"s).ok());
  EXPECT_TRUE(dom0_->Call(MsgType::kTransactionEnd, dom0_id, "T\0"s).ok())
      << "dom0's transactions have no deadline";
}

TEST_F(GuestLimits, WhatAGuestsOpenTransactionsHoldIsCapped) {
  // No rate limit here: the guest writes as fast as it can.
  ASSERT_NO_FATAL_FAILURE(Start({"-Q", "rate=0"}));
  long rss_before = testing::PeakRssKiB(xsd_->pid());
  int fd = Dial();
  std::string value(2000, 'v');
  int accepted = 0;
  std::string refusal;
  std::vector<uint32_t> txs;
  for (int t = 0; t < 10; ++t) {
    txs.push_back(std::stoul(AskRaw(fd, MsgType::kTransactionStart, "\0"s)->payload));
    // 1000 writes of 2 KB into this transaction (its node quota is 1024), 20 at a time
    // (xsd reads no more of a guest with 20 replies unread).
    for (int i = 0; i < 1000; i += 20) {
      std::string batch;
      for (int j = i; j < i + 20; ++j)
        batch += wire::Encode(MsgType::kWrite, j, txs.back(),
                              "big/" + std::to_string(t) + "/" + std::to_string(j) + '\0' + value);
      testing::SendAll(fd, batch);
      for (int j = 0; j < 20; ++j) {
        std::string r = Reply(testing::ReceiveMessage(fd));
        if (r == "OK")
          ++accepted;
        else
          refusal = r;
      }
    }
  }
  long rss_after = testing::PeakRssKiB(xsd_->pid());
  EXPECT_EQ(refusal, "ENOSPC");
  EXPECT_LT(accepted, 1000) << "20 MB of transaction writes were taken";
  EXPECT_LT(rss_after - rss_before, 8 << 10)
      << "xsd grew by " << (rss_after - rss_before) << " KiB for one guest's open transactions";
  for (uint32_t tx : txs) EXPECT_EQ(Reply(AskRaw(fd, MsgType::kTransactionEnd, "F\0"s, tx)), "OK");
  auto again = AskRaw(fd, MsgType::kTransactionStart, "\0"s);
  uint32_t tx = std::stoul(again->payload);
  EXPECT_EQ(Reply(AskRaw(fd, MsgType::kWrite, "after\0v"s, tx)), "OK")
      << "ending the transactions should give their memory back";
  printf("transaction-memory: %d writes of 2 KB taken, xsd peak RSS %ld KiB before, %ld after\n",
         accepted, rss_before, rss_after);
}

TEST_F(GuestLimits, RequestAndEventStormsOfAGuestAreRateLimited) {
  constexpr int kRate = 200, kBurst = 20;
  ASSERT_NO_FATAL_FAILURE(
      Start({"-Q", "rate=" + std::to_string(kRate), "-Q", "burst=" + std::to_string(kBurst)}));
  std::atomic<int> events{0};
  auto watch = dom0_->AddWatch("/local/domain/1/storm",
                               [&](const std::string&, const std::string&) { ++events; });
  ASSERT_TRUE(watch.ok());
  ASSERT_TRUE(Eventually(std::chrono::seconds(2), [&] { return events == 1; }));
  int fd = Dial();
  auto start = Clock::now();
  int writes = 0, dom0_reads = 0;
  std::thread dom0_reader([&] {  // dom0 is never limited
    while (Clock::now() - start < std::chrono::seconds(1))
      if (xs::PlainRead(*dom0_, "/local/domain/1/name").ok()) ++dom0_reads;
  });
  while (Clock::now() - start < std::chrono::seconds(1))
    if (Reply(AskRaw(fd, MsgType::kWrite, "storm\0"s + std::to_string(writes))) == "OK") ++writes;
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  dom0_reader.join();
  double allowed = kBurst + kRate * seconds + 5;
  EXPECT_LE(writes, allowed) << "the guest was not rate limited";
  EXPECT_TRUE(Eventually(std::chrono::seconds(2), [&] { return events == writes + 1; }));
  EXPECT_LE(events.load(), allowed + 1) << "dom0 got an event storm";
  EXPECT_GT(Stat("requests_throttled"), 0u);
  printf(
      "storm: the guest got %d writes in %.2f s (rate %d/s, burst %d), dom0 %d reads meanwhile\n",
      writes, seconds, kRate, kBurst, dom0_reads);
}

TEST_F(GuestLimits, RunningOutOfFileDescriptorsNeitherSpinsNorStopsService) {
  ASSERT_NO_FATAL_FAILURE(Start({}, "ulimit -n 48 && "));
  // dom0 clients until xsd cannot accept more (the kernel still completes the
  // connections: they wait in the listen backlog).
  std::vector<std::unique_ptr<xs::Connection>> held;
  for (int i = 0; i < 60; ++i) {
    auto c = xs::Connection::Open(sock());
    if (c.ok()) held.push_back(std::move(*c));
  }
  int waiting = testing::DialUnix(sock(), 2);
  ASSERT_GE(waiting, 0);
  fds_.push_back(waiting);
  auto cpu_before = testing::CpuTime(xsd_->pid());
  std::this_thread::sleep_for(std::chrono::seconds(2));
  auto cpu = testing::CpuTime(xsd_->pid()) - cpu_before;
  EXPECT_LT(cpu.count(), 200) << "xsd spun on its listening socket while out of fds";
  EXPECT_TRUE(xs::PlainWrite(*dom0_, "/still", "served").ok()) << "clients it has lost service";
  EXPECT_GT(Stat("accept_pauses"), 0u);
  held.clear();  // fds come back: the waiting client is accepted and served
  EXPECT_EQ(Reply(AskRaw(waiting, MsgType::kRead, "/still\0"s)), "served");
  printf("out-of-fds: xsd used %lld ms of CPU in 2 s while out of descriptors\n",
         static_cast<long long>(cpu.count()));
}

// Each simulated domain connects through a socket of its own: a listening
// socket and a connection, two descriptors. Out of descriptors, xsd closes the
// listening sockets of connected domains to introduce more, and refuses an
// INTRODUCE it cannot serve instead of answering OK for a domain nobody can reach.
TEST_F(GuestLimits, DomainsPastTheDescriptorLimitAreRefusedAndConnectedOnesMakeRoom) {
  ASSERT_NO_FATAL_FAILURE(Start({}, "ulimit -n 48 && "));
  int connected = 0;
  Status refused;
  std::map<uint32_t, int> guests;
  for (uint32_t domid = 2; domid < 60 && refused.ok(); ++domid) {
    refused = dom0_->Introduce(domid, 1000 + domid, 10);
    if (!refused.ok()) break;
    int fd = testing::DialUnix(dir_ / ("domains/" + std::to_string(domid)), 2);
    ASSERT_GE(fd, 0) << "domain " << domid << " was introduced but its socket does not listen";
    fds_.push_back(fd);
    guests[domid] = fd;
    ASSERT_EQ(Reply(AskRaw(fd, MsgType::kGetDomainPath, std::to_string(domid) + '\0')),
              "/local/domain/" + std::to_string(domid));
    ++connected;
  }
  EXPECT_EQ(refused.code(), ENOMEM) << refused.ToString();
  EXPECT_GT(connected, 30) << "a connected domain still costs xsd two descriptors";
  EXPECT_GT(Stat("listeners_parked"), 0u);
  EXPECT_TRUE(xs::PlainWrite(*dom0_, "/still", "served").ok());
  // A domain whose connection closes can connect again (a restarted guest agent).
  int fd = guests.begin()->second;
  std::string path = dir_ / ("domains/" + std::to_string(guests.begin()->first));
  close(fd);
  fds_.erase(std::find(fds_.begin(), fds_.end(), fd));
  int again = -1;
  EXPECT_TRUE(Eventually(std::chrono::seconds(5), [&] {
    if (again < 0) again = testing::DialUnix(path, 1);
    return again >= 0;
  })) << "the socket of a domain whose connection closed did not listen again";
  if (again >= 0) fds_.push_back(again);
  printf("descriptors: %d domains connected under ulimit -n 48, then INTRODUCE: %s\n", connected,
         refused.ToString().c_str());
}

}  // namespace
}  // namespace txend::xsd
