// Hostile guests against xsd. Unprivileged domains, connected through their
// per-domain sockets, try to read and write other domains' and dom0's nodes,
// exhaust every quota, open more connections than they may, flood watches,
// transactions and requests, send partial messages and never read replies.
// Meanwhile dom0 keeps committing transactions. Proven: every trespass is
// refused, every quota holds, no one else's data changes, a spying watch sees
// nothing it may not read, every dom0 request succeeds, xsd stays up and gives
// back every fd, and its peak memory stays within a bound.
//
// The second test measures what floods cost dom0: four guests flood (requests,
// events at dom0's watcher, connection churn, transactions) in 100 ms windows
// alternating with quiet ones, so background load on the machine hits both
// alike. Each guest first spends the requests its domain saved up (the burst,
// printed); then dom0's p99 during the sustained flood must stay within 2x of
// its p99 in the quiet windows, in the best of up to six rounds (under ASan
// three, printed, not asserted; every one printed), first alone and then beside busy loops the test
// starts, one per CPU.
// The reliability-long variant floods for 30 s a round.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>

#include <gtest/gtest.h>

#include "base/unique_fd.h"
#include "tests/support/daemon_process.h"
#include "tests/support/eventually.h"
#include "tests/support/process_usage.h"
#include "tests/support/raw_wire.h"
#include "tests/support/sockets.h"
#include "toolstack/xs/connection.h"
#include "toolstack/xs/transaction.h"

namespace txend::xsd {
namespace {

using testing::AskRaw;
using testing::Eventually;
using testing::ReceiveMessage;
using testing::SendAll;
using wire::MsgType;
using namespace std::string_literals;
using Clock = std::chrono::steady_clock;

// How long the attackers keep at it (dom0 is measured meanwhile, and alone for
// as long before).
constexpr auto kAttack = std::chrono::milliseconds(1500);
// xsd's peak memory may grow this much under the attack (sanitizers cache more).
#if defined(__SANITIZE_ADDRESS__)
constexpr long kRssSlackKiB = 64 << 10;
#else
constexpr long kRssSlackKiB = 16 << 10;
#endif

constexpr uint32_t kTrespasser = 1, kVictim = 2, kHoarder = 3, kFlooder = 4;
// Node quotas smaller than the defaults, so the hoarder reaches them in fewer
// requests than the default request rate allows in the attack's time.
constexpr int kEntries = 200, kTransactionNodes = 100;

std::string ErrorName(const std::optional<wire::Message>& m) {
  if (!m) return "(no reply)";
  if (m->type() != MsgType::kError) return "OK";
  return m->payload.substr(0, m->payload.find('\0'));
}

// Latency figures of one phase, in microseconds.
struct Latency {
  std::vector<double> us;
  uint64_t failures = 0;
  double Percentile(int p) {
    std::sort(us.begin(), us.end());
    return us.empty() ? 0 : us[us.size() * p / 100];
  }
  std::string Summary() {
    if (us.empty()) return "no samples";
    std::sort(us.begin(), us.end());
    char buf[160];
    snprintf(buf, sizeof buf,
             "%zu transactions, p50 %.0f us, p90 %.0f us, p99 %.0f us, max %.0f us, %llu failed",
             us.size(), Percentile(50), Percentile(90), Percentile(99), us.back(),
             static_cast<unsigned long long>(failures));
    return buf;
  }
};

double LoadAverage() {
  double load = -1;
  if (FILE* f = fopen("/proc/loadavg", "r")) {
    if (fscanf(f, "%lf", &load) != 1) load = -1;
    fclose(f);
  }
  return load;
}

class HostileGuests : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = testing::StartXsd(
        sock(), {"--domain-sockets", dir_ / "domains", "-E", std::to_string(kEntries), "-Q",
                 "transaction-nodes=" + std::to_string(kTransactionNodes)});
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
  // dom0 alone, for as long as the attack will last: the idle figures of this run.
  Latency baseline, attacked;
  auto idle_end = Clock::now() + kAttack;
  for (int i = 0; Clock::now() < idle_end || i < 300; ++i) ProbeOnce(baseline, i);
  long peak_rss_before = testing::PeakRssKiB(xsd_->pid());
  int fds_before = testing::FdCount(xsd_->pid());

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
    for (int i = 0; i <= kTransactionNodes && err == "OK"; ++i)
      err = ask(MsgType::kWrite, "big-tx/" + std::to_string(i) + '\0' + "v", tx);
    quota_errors["transaction-nodes"] = err;
    ask(MsgType::kTransactionEnd, "F\0"s, tx);
    // Node quota, pipelined: every request first, then every reply.
    std::string batch;
    for (int i = 0; i < kEntries + 50; ++i)
      batch += wire::Encode(MsgType::kWrite, i, 0, "q/" + std::to_string(i) + '\0' + "v");
    SendAll(fd, batch);
    err = "OK";
    for (int i = 0; i < kEntries + 50; ++i) {
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
    // More connections than a domain may have: the last ones are refused.
    std::vector<int> stalled;
    for (int i = 0; i < 10; ++i) {
      int fd = testing::DialUnix(home);
      SendAll(fd, wire::Encode(MsgType::kWrite, 1, 0, "x\0y"s).substr(0, 1 + i));
      stalled.push_back(fd);
    }
    std::string slow = wire::Encode(MsgType::kWrite, 1, 0, "slow\0"s + std::string(3000, 's'));
    // Each write fires ~40 big events at the deaf watcher. The flood lasts the attack, then
    // goes on (10 s at most) until the domain's rate limit holds it: a slow machine, or ASan
    // beside other tests, may not outrun the rate within the attack's time.
    auto flood_end = attack_end + std::chrono::seconds(10);
    bool held = false;
    for (size_t i = 0; Clock::now() < attack_end || (!held && Clock::now() < flood_end); ++i) {
      if (i % 50 == 49 && Clock::now() >= attack_end)
        held = testing::XsdStat(sock(), "requests_throttled") > 0;
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
  EXPECT_LE(nodes_created.load(), kEntries);
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

  EXPECT_GT(testing::XsdStat(sock(), "connections_refused"), 0u)
      << "the flooder got more connections than its quota";
  EXPECT_GT(testing::XsdStat(sock(), "requests_throttled"), 0u);
  // Everything the attackers held is given back once they are gone.
  int fds_after = -1;
  EXPECT_TRUE(Eventually(std::chrono::seconds(5),
                         [&] {
                           fds_after = testing::FdCount(xsd_->pid());
                           return fds_after <= fds_before;
                         }))
      << "xsd holds " << fds_after << " fds, " << fds_before << " before the attack";
  long peak_rss_after = testing::PeakRssKiB(xsd_->pid());
  EXPECT_LT(peak_rss_after - peak_rss_before, kRssSlackKiB) << "xsd's memory grew under the attack";

  printf("hostile-guests: dom0 before the attack: %s\n", baseline.Summary().c_str());
  printf("hostile-guests: dom0 during the attack: %s\n", attacked.Summary().c_str());
  printf("hostile-guests: xsd peak RSS %ld KiB before, %ld KiB after; fds %d before, %d after\n",
         peak_rss_before, peak_rss_after, fds_before, fds_after);
  printf(
      "hostile-guests: %d trespass attempts all refused, %d victim commits, %d flood writes; quota "
      "errors: entries=%s node-size=%s perms=%s watches=%s "
      "transactions=%s transaction-nodes=%s, %d nodes created (quota %d), %llu connections "
      "dropped\n",
      trespasses, victim_writes.load(), noisy_writes.load(), quota_errors["entries"].c_str(),
      quota_errors["node-size"].c_str(), quota_errors["perms"].c_str(),
      quota_errors["watches"].c_str(), quota_errors["transactions"].c_str(),
      quota_errors["transaction-nodes"].c_str(), nodes_created.load(), kEntries,
      static_cast<unsigned long long>(testing::XsdStat(sock(), "connections_dropped")));
}

// How long the latency test floods, in seconds: TXEND_FLOOD_SECONDS, else 1.5
// (the reliability-long variant sets 30).
std::chrono::milliseconds FloodTime() {
  const char* env = getenv("TXEND_FLOOD_SECONDS");
  double seconds = env ? std::atof(env) : 1.5;
  return std::chrono::milliseconds(static_cast<int64_t>(std::max(seconds, 0.2) * 1000));
}

// Flood windows alternate with quiet ones, so both see the same background load.
constexpr auto kWindow = std::chrono::milliseconds(100);
// The default request rate and burst of a guest's domain (xsd/quota.h), and
// how many answers a flooder may not have counted yet (it counts in batches).
constexpr double kGuestRate = 200, kGuestBurst = 1000, kCountSlack = 25;
// The design target (oxenstored's): dom0's p99 in flood windows within 2x of
// its p99 in the quiet windows of the same round, in the best of up to
// kRounds rounds (one round's p99 is a handful of samples that a scheduler
// tick can spoil), both on a quiet machine and beside a CPU hog.
// A round meets it when its p50 is within 1.75x too: beside a CPU hog both
// p99s can sit at a scheduler tick whatever xsd does, so the p50 is what
// catches a guest that takes xsd's time (without the rate limit: 2.8-5.5x).
// Under ASan every request costs ~6x the CPU (dom0's idle p50 570-770 us
// against 100-130 us), so the guests' 800 requests a second take a real part
// of xsd's CPU and the ratios measure the sanitizer more than xsd: beside busy
// loops p50 1.2-19x over 60 rounds; alone, on a quiet machine, p99 2.2-3.6x in
// 20 rounds of 20 (2026-12-05). There the rounds run and are printed, and the
// requests must all be answered, but the ratios are not asserted.
constexpr double kMaxP99Ratio = 2;
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kRatiosAsserted = false;
constexpr int kRounds = 3;
constexpr double kMaxP50Ratio = 3;
#else
constexpr bool kRatiosAsserted = true;
constexpr int kRounds = 6;
constexpr double kMaxP50Ratio = 1.75;
#endif

// One round's dom0 figures, flooded over idle.
struct RoundRatios {
  double p50 = 0, p99 = 0;
  bool Met() const { return p99 <= kMaxP99Ratio && p50 <= kMaxP50Ratio; }
};

// Runs `flood` over and over while `on`; ends with `stop`. Off, it sleeps until
// switched on (Switch), not in a polling loop: a poller's timer wake-ups in
// the quiet windows alone give the scheduler extra chances to run dom0's
// tasks there, which flatters the quiet windows' p99 (up to 3x beside a CPU
// hog, with HZ=250 and no kernel preemption).
void Flooder(const std::atomic<bool>& on, const std::atomic<bool>& stop,
             const std::function<void()>& flood) {
  while (!stop) {
    if (on)
      flood();
    else
      on.wait(false);
  }
}

void Switch(std::atomic<bool>& on, bool value) {
  on = value;
  on.notify_all();
}

// Busy loops beside xsd, one per CPU, at the test's own priority, as a
// compile would be; killed and reaped when this goes out of scope (and with
// the test process, should it die first).
class CpuHogs {
 public:
  CpuHogs() {
    for (unsigned i = 0; i < std::max(1u, std::thread::hardware_concurrency()); ++i) {
      pid_t pid = fork();
      if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execl("/bin/sh", "sh", "-c", "while :; do :; done", nullptr);
        _exit(127);
      }
      if (pid > 0) pids_.push_back(pid);
    }
  }
  ~CpuHogs() {
    for (pid_t pid : pids_) kill(pid, SIGKILL);
    for (pid_t pid : pids_) waitpid(pid, nullptr, 0);
  }
  size_t size() const { return pids_.size(); }

 private:
  std::vector<pid_t> pids_;
};

TEST_F(HostileGuests, Dom0LatencyDuringFloodsStaysNearIdle) {
  // dom0's watcher (as txend's would be) sees every event domain 2 provokes.
  auto watcher = xs::Connection::Open(sock());
  ASSERT_TRUE(watcher.ok());
  std::atomic<uint64_t> events{0};
  auto watch = (*watcher)->AddWatch("/local/domain/2",
                                    [&](const std::string&, const std::string&) { ++events; });
  ASSERT_TRUE(watch.ok());

  std::atomic<bool> on{false}, stop{false};
  // Requests answered, per flooding guest (index: domid - 1).
  std::array<std::atomic<uint64_t>, 4> answered{};
  std::vector<std::thread> flooders;
  // Domain 1: pipelined reads and writes of its own nodes, as fast as answered.
  flooders.emplace_back([&] {
    UniqueFd fd(testing::DialUnix(DomainSocket(kTrespasser)));
    std::string batch;
    for (int i = 0; i < 20; ++i)
      batch += wire::Encode(i % 2 ? MsgType::kRead : MsgType::kWrite, i, 0,
                            i % 2 ? "name\0"s : "junk/" + std::to_string(i) + "\0x"s);
    Flooder(on, stop, [&] {
      SendAll(fd.get(), batch);
      for (int i = 0; i < 20 && ReceiveMessage(fd.get()); ++i) ++answered[0];
    });
  });
  // Domain 2: writes below its home, each an event for dom0's watcher.
  flooders.emplace_back([&] {
    UniqueFd fd(testing::DialUnix(DomainSocket(kVictim)));
    uint64_t i = 0;
    Flooder(on, stop, [&] {
      if (AskRaw(fd.get(), MsgType::kWrite, "storm/" + std::to_string(i++ % 50) + "\0v"s))
        ++answered[1];
    });
  });
  // Domain 3: connects, asks once, hangs up; again and again.
  flooders.emplace_back([&] {
    Flooder(on, stop, [&] {
      UniqueFd fd(testing::DialUnix(DomainSocket(kHoarder)));
      if (fd && AskRaw(fd.get(), MsgType::kRead, "name\0"s)) ++answered[2];
    });
  });
  // Domain 4: transactions that list, read and write its home.
  flooders.emplace_back([&] {
    UniqueFd fd(testing::DialUnix(DomainSocket(kFlooder)));
    Flooder(on, stop, [&] {
      auto start = AskRaw(fd.get(), MsgType::kTransactionStart, "\0"s);
      if (ErrorName(start) != "OK") return;
      uint32_t tx = std::stoul(start->payload);
      AskRaw(fd.get(), MsgType::kDirectory, "\0"s, tx);
      AskRaw(fd.get(), MsgType::kRead, "name\0"s, tx);
      AskRaw(fd.get(), MsgType::kWrite, "churn\0v"s, tx);
      if (AskRaw(fd.get(), MsgType::kTransactionEnd, "T\0"s, tx)) answered[3] += 5;
    });
  });

  // The burst: every guest floods until its domain's saved-up requests are
  // spent (it has had all the tokens it can get: burst + rate x time).
  Latency burst;
  Switch(on, true);
  auto burst_start = Clock::now();
  auto spent = [&] {
    double seconds = std::chrono::duration<double>(Clock::now() - burst_start).count();
    double tokens = kGuestBurst + kGuestRate * seconds - kCountSlack;
    return std::all_of(answered.begin(), answered.end(), [&](auto& n) { return n >= tokens; });
  };
  // (A guest too slow to outrun its rate never spends it; then 10 s is enough.)
  for (int n = 0; !spent() && Clock::now() < burst_start + std::chrono::seconds(10); ++n)
    ProbeOnce(burst, n);
  bool all_spent = spent();
  Switch(on, false);
  uint64_t burst_requests = 0;
  for (auto& n : answered) burst_requests += n.exchange(0);
  printf("flood: dom0 while the guests spend their bursts (%llu requests, %.0f ms%s): %s\n",
         static_cast<unsigned long long>(burst_requests),
         std::chrono::duration<double, std::milli>(Clock::now() - burst_start).count(),
         all_spent ? "" : ", not all spent", burst.Summary().c_str());

  // The sustained flood, in windows alternating with quiet ones, round after
  // round until one meets the target; returns that round's ratios (or, if
  // none did, those of the round with the lowest p99 ratio).
  auto best_round = [&](const std::string& beside) {
    RoundRatios best;
    for (int round = 1; round == 1 || (round <= kRounds && !best.Met()); ++round) {
      Latency idle, flooded;
      uint64_t events_before = events;
      auto end = Clock::now() + 2 * FloodTime();
      for (int i = 0; Clock::now() < end; ++i) {
        Switch(on, i % 2 == 1);
        auto window_end = Clock::now() + kWindow;
        for (int n = 0; Clock::now() < window_end; ++n) ProbeOnce(on ? flooded : idle, n);
      }
      Switch(on, false);
      uint64_t requests = 0;
      for (auto& n : answered) requests += n.exchange(0);
      RoundRatios r{flooded.Percentile(50) / idle.Percentile(50),
                    flooded.Percentile(99) / idle.Percentile(99)};
      if (round == 1 || r.Met() || r.p99 < best.p99) best = r;
      EXPECT_EQ(idle.failures + flooded.failures, 0u);
      EXPECT_GT(requests, 0u);
      const char* b = beside.c_str();
      printf("flood %s, round %d: dom0 idle:    %s\n", b, round, idle.Summary().c_str());
      printf("flood %s, round %d: dom0 flooded: %s\n", b, round, flooded.Summary().c_str());
      printf(
          "flood %s, round %d: dom0 flooded/idle: p50 %.2fx, p99 %.2fx (at most %.2fx and %.0fx): "
          "%s; %llu guest requests answered, %llu events to dom0 in %lld ms of flooding; load "
          "average %.1f\n",
          b, round, r.p50, r.p99, kMaxP50Ratio, kMaxP99Ratio, r.Met() ? "met" : "missed",
          static_cast<unsigned long long>(requests),
          static_cast<unsigned long long>(events - events_before),
          static_cast<long long>(FloodTime().count()), LoadAverage());
    }
    return best;
  };
  RoundRatios alone = best_round("alone"), hogged;
  {
    CpuHogs hogs;
    EXPECT_GT(hogs.size(), 0u);
    hogged = best_round("beside " + std::to_string(hogs.size()) + " busy loops");
  }
  stop = true;
  Switch(on, true);
  for (auto& t : flooders) t.join();
  EXPECT_TRUE(xsd_->Running());
  printf("flood: best rounds: alone p99 %.2fx p50 %.2fx, beside busy loops p99 %.2fx p50 %.2fx\n",
         alone.p99, alone.p50, hogged.p99, hogged.p50);
  if (!kRatiosAsserted) return;
  EXPECT_TRUE(alone.Met()) << "no round met the target alone: dom0's p99 during the flood was "
                           << alone.p99 << "x its idle p99, its p50 " << alone.p50 << "x";
  EXPECT_TRUE(hogged.Met()) << "no round met the target beside busy loops: dom0's p99 during the "
                            << "flood was " << hogged.p99 << "x its idle p99, its p50 "
                            << hogged.p50 << "x";
}

}  // namespace
}  // namespace txend::xsd
