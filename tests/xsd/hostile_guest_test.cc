// Hostile guests against xsd. Unprivileged domains, connected through their
// per-domain sockets, try to read and write other domains' and dom0's nodes,
// exhaust every quota, flood watches, transactions and requests, send partial
// messages and never read replies. Meanwhile dom0 keeps committing
// transactions and measures their latency (printed, never asserted).
// Proven: every trespass is refused, every quota holds, no one else's data
// changes, a spying watch sees nothing it may not read, every dom0 request
// succeeds, and xsd stays up.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <sys/socket.h>
#include <thread>

#include <gtest/gtest.h>

#include "tests/support/daemon_process.h"
#include "tests/support/raw_wire.h"
#include "tests/support/sockets.h"
#include "toolstack/xs/connection.h"
#include "toolstack/xs/transaction.h"

namespace txend::xsd {
namespace {

using testing::AskRaw;
using testing::ReceiveMessage;
using testing::SendAll;
using wire::MsgType;
using namespace std::string_literals;
using Clock = std::chrono::steady_clock;

// How long the attackers keep at it (dom0 is measured meanwhile).
constexpr auto kAttack = std::chrono::milliseconds(1500);

constexpr uint32_t kTrespasser = 1, kVictim = 2, kHoarder = 3, kFlooder = 4;

std::string ErrorName(const std::optional<wire::Message>& m) {
  if (!m) return "(no reply)";
  if (m->type() != MsgType::kError) return "OK";
  return m->payload.substr(0, m->payload.find('\0'));
}

// Latency figures of one phase, in microseconds.
struct Latency {
  std::vector<double> us;
  uint64_t failures = 0;
  std::string Summary() {
    if (us.empty()) return "no samples";
    std::sort(us.begin(), us.end());
    char buf[160];
    snprintf(buf, sizeof buf,
             "%zu transactions, p50 %.0f us, p99 %.0f us, max %.0f us, %llu failed", us.size(),
             us[us.size() / 2], us[us.size() * 99 / 100], us.back(),
             static_cast<unsigned long long>(failures));
    return buf;
  }
};

class HostileGuests : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = testing::StartXsd(sock(), {"--domain-sockets", dir_ / "domains"});
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    xsd_ = std::move(*d);
    auto c = xs::Connection::Open(sock());
    ASSERT_TRUE(c.ok());
    dom0_ = std::move(*c);
    for (uint32_t domid : {kTrespasser, kVictim, kHoarder, kFlooder}) {
      ASSERT_TRUE(dom0_->Introduce(domid, 1000 + domid, 10 + domid).ok());
      std::string home = "/local/domain/" + std::to_string(domid);
      Put(home, "", wire::MakePerms(domid, wire::Access::kNone));
      Put(home + "/name", "dom" + std::to_string(domid),
          wire::MakePerms(domid, wire::Access::kNone));
    }
    Put("/local/domain/2/data/a", "victim-a", wire::MakePerms(kVictim, wire::Access::kNone));
    Put("/local/domain/2/data/b", "victim-b", wire::MakePerms(kVictim, wire::Access::kNone));
    Put("/local/domain/2/shared", "readable by 1",
        wire::MakePerms(kVictim, wire::Access::kNone, {{kTrespasser, wire::Access::kRead}}));
    Put("/local/domain/2/private", "", wire::MakePerms(kVictim, wire::Access::kNone));
    Put("/vm/victim/name", "dom2", wire::MakePerms(0, wire::Access::kNone));
    Put("/local/domain/0/backend/vbd/2/51712/state", "4",
        wire::MakePerms(0, wire::Access::kNone, {{kVictim, wire::Access::kRead}}));
  }

  std::string sock() const { return dir_ / "socket"; }
  std::string DomainSocket(uint32_t domid) const {
    return dir_ / ("domains/" + std::to_string(domid));
  }

  void Put(const std::string& path, const std::string& value, const wire::Perms& perms) {
    std::vector<xs::Transaction::NodeWrite> w{{path, value, perms}};
    ASSERT_TRUE(
        xs::RunTransaction(*dom0_, [&](xs::Transaction& tx) { return tx.WriteMany(w); }).ok())
        << path;
  }

  // Every node with its value and permissions, except the attackers' own
  // homes, the victim's private area and dom0's probe (they change on purpose).
  std::string ProtectedState() {
    auto snap = xs::Snapshot::Begin(*dom0_);
    EXPECT_TRUE(snap.ok());
    std::string out;
    Walk(*snap, "/", out);
    return out;
  }
  void Walk(xs::Snapshot& snap, const std::string& path, std::string& out) {
    for (const char* skip : {"/local/domain/1", "/local/domain/3", "/local/domain/4",
                             "/local/domain/2/private", "/probe"})
      if (path == skip) return;
    auto perms = snap.GetPerms(path);
    out += path + " = '" + snap.Read(path).value_or("?") + "' (";
    for (const auto& p : perms.value_or(wire::Perms{})) out += wire::FormatPerm(p) + ",";
    out += ")\n";
    for (const auto& child : snap.Directory(path).value_or(std::vector<std::string>{}))
      Walk(snap, path == "/" ? "/" + child : path + "/" + child, out);
  }

  // dom0: one read-modify-write transaction, timed.
  void ProbeOnce(Latency& latency, int i) {
    auto start = Clock::now();
    Status st = xs::RunTransaction(*dom0_, [&](xs::Transaction& tx) {
      auto old = tx.ReadIfExists("/probe/counter");
      if (!old.ok()) return old.status();
      return tx.Write("/probe/counter", std::to_string(i));
    });
    latency.us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    if (!st.ok()) ++latency.failures;
  }

  testing::TempDir dir_;
  std::unique_ptr<testing::DaemonProcess> xsd_;
  std::unique_ptr<xs::Connection> dom0_;
};

// Domain 1 tries every operation on nodes that are not its own; returns what
// was not refused. Counts its attempts in `attempts`.
std::vector<std::string> Trespass(const std::string& socket, int& attempts) {
  std::vector<std::string> breaches;
  int fd = testing::DialUnix(socket);
  if (fd < 0) return {"cannot connect as domain 1"};
  const std::string shared = "/local/domain/2/shared";
  auto expect_refused = [&](MsgType type, const std::string& payload, uint32_t tx = 0) {
    ++attempts;
    auto reply = AskRaw(fd, type, payload, tx);
    if (ErrorName(reply) == "OK" || !reply)
      breaches.push_back(std::string(wire::TypeName(static_cast<uint32_t>(type))) + " " + payload +
                         " -> " + ErrorName(reply));
  };
  for (const std::string& target : std::vector<std::string>{
           "/local/domain/2/data/a", "/local/domain/2/data", "/local/domain/2", shared,
           "/vm/victim/name", "/local/domain/0/backend/vbd/2/51712/state", "/local/domain",
           "/local", "/vm", "/tool/xenstored", "/"}) {
    std::string child = target == "/" ? "/evil" : target + "/evil";
    expect_refused(MsgType::kWrite, target + '\0' + "pwned");
    expect_refused(MsgType::kWrite, child + '\0' + "pwned");
    expect_refused(MsgType::kMkdir, target + '\0');
    expect_refused(MsgType::kMkdir, child + '\0');
    expect_refused(MsgType::kRm, target + '\0');
    expect_refused(MsgType::kSetPerms, target + '\0' + "b1" + '\0');
    expect_refused(MsgType::kSetPerms, target + '\0' + "n2" + '\0' + "b1" + '\0');
    if (target != shared) {
      expect_refused(MsgType::kRead, target + '\0');
      expect_refused(MsgType::kDirectory, target + '\0');
      expect_refused(MsgType::kGetPerms, target + '\0');
    }
    auto start = AskRaw(fd, MsgType::kTransactionStart, "\0"s);
    if (ErrorName(start) != "OK") {
      breaches.push_back("TRANSACTION_START refused: " + ErrorName(start));
      continue;
    }
    uint32_t tx = std::stoul(start->payload);
    expect_refused(MsgType::kWrite, target + '\0' + "pwned", tx);
    expect_refused(MsgType::kRm, target + '\0', tx);
    if (ErrorName(AskRaw(fd, MsgType::kTransactionEnd, "T\0"s, tx)) != "OK")
      breaches.push_back("empty commit failed");
  }
  for (std::string sneaky : std::vector<std::string>{"../2/data/a", "/local/domain/2/data/a/",
                                                     "/local/domain/1/../2/data/a",
                                                     "/local//domain/2", "@releaseDomain"})
    expect_refused(MsgType::kWrite, sneaky + '\0' + "pwned");
  for (MsgType privileged : {MsgType::kIntroduce, MsgType::kRelease, MsgType::kSetTarget,
                             MsgType::kResume, MsgType::kControl})
    expect_refused(privileged, "1\0"s + "2\0"s + "3\0"s);
  close(fd);
  return breaches;
}

TEST_F(HostileGuests, CannotTouchOthersDataExceedQuotasOrSlowDom0IntoFailure) {
  std::string before = ProtectedState();
  Latency baseline, attacked;
  for (int i = 0; i < 300; ++i) ProbeOnce(baseline, i);

  // Domain 1 spies: a watch on the victim's home may fire once (the initial event) and never
  // for nodes domain 1 cannot read.
  int spy = testing::DialUnix(DomainSocket(kTrespasser));
  ASSERT_GE(spy, 0);
  ASSERT_EQ(ErrorName(AskRaw(spy, MsgType::kWatch, "/local/domain/2\0spy\0"s)), "OK");

  std::atomic<int> attackers_running{0};
  std::vector<std::thread> attackers;
  auto attack = [&](auto body) {
    ++attackers_running;
    attackers.emplace_back([&attackers_running, body] {
      body();
      --attackers_running;
    });
  };

  auto attack_end = Clock::now() + kAttack;
  std::vector<std::string> breaches;
  int trespasses = 0;
  attack([&] {
    while (Clock::now() < attack_end && breaches.empty())
      breaches = Trespass(DomainSocket(kTrespasser), trespasses);
  });

  // Domain 2 (the victim) keeps writing its private node.
  std::atomic<int> victim_writes{0}, victim_failures{0};
  attack([&] {
    auto c = xs::Connection::Open(DomainSocket(kVictim));
    if (!c.ok()) return;
    for (int i = 1; i <= 100 || Clock::now() < attack_end; ++i)
      if (xs::RunTransaction(**c, [&](xs::Transaction& tx) {
            return tx.Write("private/counter", std::to_string(i));
          }).ok())
        victim_writes = i;
      else
        ++victim_failures;
  });

  // Domain 3 runs into every quota.
  std::map<std::string, std::string> quota_errors;
  std::atomic<int> nodes_created{0};
  attack([&] {
    int fd = testing::DialUnix(DomainSocket(kHoarder));
    auto ask = [&](MsgType t, const std::string& p, uint32_t tx = 0) {
      return ErrorName(AskRaw(fd, t, p, tx));
    };
    uint32_t tx = std::stoul(AskRaw(fd, MsgType::kTransactionStart, "\0"s)->payload);
    std::string err = "OK";
    for (int i = 0; i < 1100 && err == "OK"; ++i)
      err = ask(MsgType::kWrite, "big-tx/" + std::to_string(i) + '\0' + "v", tx);
    quota_errors["transaction-nodes"] = err;
    ask(MsgType::kTransactionEnd, "F\0"s, tx);
    // Node quota, pipelined: every request first, then every reply.
    std::string batch;
    for (int i = 0; i < 1100; ++i)
      batch += wire::Encode(MsgType::kWrite, i, 0, "q/" + std::to_string(i) + '\0' + "v");
    SendAll(fd, batch);
    err = "OK";
    for (int i = 0; i < 1100; ++i) {
      std::string e = ErrorName(ReceiveMessage(fd));
      if (e == "OK")
        ++nodes_created;
      else
        err = e;
    }
    quota_errors["entries"] = err;
    quota_errors["node-size"] = ask(MsgType::kWrite, "name\0"s + std::string(2049, 'x'));
    quota_errors["perms"] = ask(MsgType::kSetPerms, "name\0n3\0r1\0r2\0r4\0r5\0r6\0r7\0"s);
    quota_errors["path-length"] = ask(MsgType::kWrite, std::string(2100, 'p') + '\0' + "v");
    err = "OK";
    for (int i = 0; i < 200 && err == "OK"; ++i)
      err = ask(MsgType::kWatch, "w" + std::to_string(i) + '\0' + "t" + '\0');
    quota_errors["watches"] = err;
    err = "OK";
    for (int i = 0; i < 50 && err == "OK"; ++i) err = ask(MsgType::kTransactionStart, "\0"s);
    quota_errors["transactions"] = err;
    close(fd);
  });

  // Domain 4 floods: a deaf watcher, a pipeliner that never reads, stalled and
  // trickling partial messages, garbage, and transactions held open forever.
  std::vector<int> flood_fds;
  std::atomic<int> noisy_writes{0};
  attack([&] {
    std::string home = DomainSocket(kFlooder);
    int deaf = testing::DialUnix(home);
    int buf = 4096;
    setsockopt(deaf, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    fcntl(deaf, F_SETFL,
          O_NONBLOCK);  // xsd stops reading it once 20 replies wait: never block on it
    for (int i = 0; i < 40; ++i) {
      std::string watch =
          wire::Encode(MsgType::kWatch, i, 0, "f\0"s + std::string(1000, 'a' + i % 26) + '\0');
      (void)send(deaf, watch.data(), watch.size(), MSG_NOSIGNAL);
    }
    int pipeliner = testing::DialUnix(home);
    fcntl(pipeliner, F_SETFL, O_NONBLOCK);
    std::string read_req = wire::Encode(MsgType::kRead, 1, 0, "name\0"s);
    for (int i = 0; i < 20000; ++i)
      if (send(pipeliner, read_req.data(), read_req.size(), MSG_NOSIGNAL) !=
          static_cast<ssize_t>(read_req.size()))
        break;
    std::vector<int> stalled;
    for (int i = 0; i < 10; ++i) {
      int fd = testing::DialUnix(home);
      SendAll(fd, wire::Encode(MsgType::kWrite, 1, 0, "x\0y"s).substr(0, 1 + i));
      stalled.push_back(fd);
    }
    int garbage = testing::DialUnix(home);
    SendAll(garbage, std::string(64, '\xff'));
    int hoarder = testing::DialUnix(home);
    for (int i = 0; i < 12; ++i) {
      auto start = AskRaw(hoarder, MsgType::kTransactionStart, "\0"s);
      if (ErrorName(start) != "OK") break;
      uint32_t tx = std::stoul(start->payload);
      AskRaw(hoarder, MsgType::kWrite, "held/" + std::to_string(i) + '\0' + "v", tx);
    }
    int noisy =
        testing::DialUnix(home);  // implicit writes: the hoarder holds every transaction slot
    int trickle = testing::DialUnix(home);
    std::string slow = wire::Encode(MsgType::kWrite, 1, 0, "slow\0"s + std::string(3000, 's'));
    for (size_t i = 0; Clock::now() < attack_end;
         ++i) {  // each write fires ~40 big events at the deaf watcher
      if (ErrorName(AskRaw(noisy, MsgType::kWrite, "f/x\0"s + std::to_string(i))) == "OK")
        ++noisy_writes;
      if (i * 10 < slow.size() - 10) SendAll(trickle, slow.substr(i * 10, 10));
    }
    close(noisy);
    flood_fds = {deaf, pipeliner, garbage, hoarder, trickle};
    flood_fds.insert(flood_fds.end(), stalled.begin(), stalled.end());
  });

  // dom0 meanwhile.
  for (int i = 0; attackers_running > 0 || i < 300; ++i) ProbeOnce(attacked, 1000 + i);
  for (auto& t : attackers) t.join();

  EXPECT_TRUE(xsd_->Running());
  EXPECT_EQ(baseline.failures, 0u);
  EXPECT_EQ(attacked.failures, 0u) << "dom0 requests failed during the attack";
  EXPECT_TRUE(breaches.empty()) << "first breach: " << (breaches.empty() ? "" : breaches[0]) << " ("
                                << breaches.size() << " in all)";
  EXPECT_EQ(quota_errors["transaction-nodes"], "ENOSPC");
  EXPECT_EQ(quota_errors["entries"], "ENOSPC");
  EXPECT_LE(nodes_created.load(), 1000);
  EXPECT_EQ(quota_errors["node-size"], "ENOSPC");
  EXPECT_EQ(quota_errors["perms"], "ENOSPC");
  EXPECT_EQ(quota_errors["path-length"], "EINVAL");
  EXPECT_EQ(quota_errors["watches"], "E2BIG");
  EXPECT_EQ(quota_errors["transactions"], "ENOSPC");
  EXPECT_EQ(ProtectedState(), before) << "a hostile guest changed data that is not its own";
  auto snap = xs::Snapshot::Begin(*dom0_);
  EXPECT_EQ(snap->Read("/local/domain/2/private/counter").value_or("?"),
            std::to_string(victim_writes.load()));
  EXPECT_EQ(victim_failures.load(), 0);
  EXPECT_GT(noisy_writes.load(), 0);
  EXPECT_GE(testing::XsdStat(sock(), "connections_dropped"), 2u)
      << "the deaf watcher and the garbage sender";

  // The spy's watch fired only its initial event: anything queued for it came
  // before the initial event of a watch added now.
  ASSERT_TRUE(SendAll(spy, wire::Encode(MsgType::kWatch, 9, 0, "/local/domain/1\0own\0"s)));
  int spy_events = 0;
  while (auto m = ReceiveMessage(spy)) {
    if (m->type() != MsgType::kWatchEvent) continue;
    if (m->payload == "/local/domain/1\0own\0"s) break;
    ++spy_events;
  }
  EXPECT_EQ(spy_events, 1) << "the spy saw events for nodes it cannot read";
  close(spy);
  for (int fd : flood_fds) close(fd);

  printf("hostile-guests: dom0 before the attack: %s\n", baseline.Summary().c_str());
  printf("hostile-guests: dom0 during the attack: %s\n", attacked.Summary().c_str());
  printf(
      "hostile-guests: %d trespass attempts all refused, %d victim commits, %d flood writes; quota "
      "errors: entries=%s node-size=%s perms=%s watches=%s "
      "transactions=%s transaction-nodes=%s, %d nodes created (quota 1000), %llu connections "
      "dropped\n",
      trespasses, victim_writes.load(), noisy_writes.load(), quota_errors["entries"].c_str(),
      quota_errors["node-size"].c_str(), quota_errors["perms"].c_str(),
      quota_errors["watches"].c_str(), quota_errors["transactions"].c_str(),
      quota_errors["transaction-nodes"].c_str(), nodes_created.load(),
      static_cast<unsigned long long>(testing::XsdStat(sock(), "connections_dropped")));
}

}  // namespace
}  // namespace txend::xsd
