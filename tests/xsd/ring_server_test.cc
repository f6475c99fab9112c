// Whole client sessions through xsd's real Server loop over shared-ring pages in
// memory (MemoryRings stands in for Xen: a pipe as the event-channel device):
// a guest INTRODUCEd by dom0 over the unix socket, dom0's own kernel ring,
// domain death, backpressure, and a hostile guest.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "tests/support/daemon_process.h"
#include "tests/support/eventually.h"
#include "tests/xsd/memory_rings.h"
#include "toolstack/xs/connection.h"
#include "xsd/server.h"

namespace txend::xsd {
namespace {

using testing::Eventually;
using wire::MsgType;
using namespace std::string_literals;
const std::string kOk("OK\0", 3);

// A ring index as the other side (xsd's thread) writes it.
uint32_t Index(uint32_t& i) { return std::atomic_ref<uint32_t>(i).load(); }

// How long xsd's thread may take to react to a ring or a socket.
constexpr std::chrono::seconds kWait{5};

class RingServerTest : public ::testing::Test {
 protected:
  RingServerTest() : owned_rings_(std::make_unique<MemoryRings>()), rings_(*owned_rings_) {}
  ~RingServerTest() override {
    watches_.clear();
    dom0_.reset();
    if (server_) {
      server_->RequestStop();
      thread_.join();
    }
  }

  void Start(ServerOptions opts = {}, Quota quota = {}) {
    opts.socket_path = dir_ / "socket";
    store_.emplace(quota);
    auto s = Server::Create(opts, *store_, std::move(owned_rings_));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
    thread_ = std::thread([this] { ASSERT_TRUE(server_->Run().ok()); });
    auto c = xs::Connection::Open(opts.socket_path);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    dom0_ = std::move(*c);
  }

  // dom0 watches `path`; its events are collected in events_.
  void Watch(const std::string& path) {
    auto w = dom0_->AddWatch(path, [this](const std::string& p, const std::string&) {
      std::lock_guard lock(mu_);
      events_.push_back(p);
    });
    ASSERT_TRUE(w.ok());
    watches_.push_back(std::move(*w));
  }
  size_t EventCount(const std::string& path) {
    std::lock_guard lock(mu_);
    return std::count(events_.begin(), events_.end(), path);
  }

  std::string Dom0(MsgType type, const std::string& payload) {
    auto r = dom0_->Call(type, 0, payload);
    return r.ok() ? *r : "ERR:" + r.status().ToString();
  }

  // A guest with its home directory, introduced by dom0, its ring mapped by xsd.
  MemoryRings::Guest& Introduce(uint32_t domid, uint64_t mfn, uint32_t port) {
    MemoryRings::Guest& g = rings_.AddGuest(domid, mfn, port);
    std::string home = "/local/domain/" + std::to_string(domid);
    EXPECT_EQ(Dom0(MsgType::kMkdir, home + '\0'), kOk);
    EXPECT_EQ(Dom0(MsgType::kSetPerms, home + '\0' + "n" + std::to_string(domid) + '\0'), kOk);
    EXPECT_TRUE(dom0_->Introduce(domid, mfn, port).ok());
    EXPECT_TRUE(Eventually(kWait, [&] { return g.bound.load(); }));
    return g;
  }

  txend::testing::TempDir dir_;
  std::unique_ptr<MemoryRings> owned_rings_;
  MemoryRings& rings_;
  std::optional<Xenstore> store_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
  std::unique_ptr<xs::Connection> dom0_;
  std::vector<xs::Watch> watches_;
  std::mutex mu_;
  std::vector<std::string> events_;
};

TEST_F(RingServerTest, GuestSessionOverItsRing) {
  Start();
  Watch("@introduceDomain");
  Watch("@releaseDomain");
  MemoryRings::Guest& g = Introduce(5, 0x1234, 7);
  EXPECT_TRUE(Eventually(
      kWait, [&] { return EventCount("@introduceDomain") == 2; }));  // initial + introduce
  RingGuest guest(rings_, g);

  EXPECT_EQ(guest.Ask(MsgType::kGetDomainPath, "5\0"s), "/local/domain/5\0"s);
  EXPECT_EQ(guest.Ask(MsgType::kWrite, "data/x\0hello"s), kOk);  // relative to its home
  EXPECT_EQ(guest.Ask(MsgType::kRead, "data/x\0"s), "hello");
  EXPECT_EQ(Dom0(MsgType::kRead, "/local/domain/5/data/x\0"s), "hello");
  EXPECT_EQ(guest.Ask(MsgType::kWrite, "/tool/x\0no"s), "ERR:EACCES");  // unprivileged
  EXPECT_EQ(guest.Ask(MsgType::kIntroduce,
                      "6\0"
                      "1\0"
                      "1\0"s),
            "ERR:EACCES");

  // Watches: the initial event, then one for dom0's write, with relative paths.
  EXPECT_EQ(guest.Ask(MsgType::kWatch, "data\0tok\0"s), kOk);
  EXPECT_EQ(Dom0(MsgType::kWrite, "/local/domain/5/data/y\0from dom0"s), kOk);
  while (guest.events.size() < 2) {
    auto m = guest.Receive();
    ASSERT_TRUE(m);
    ASSERT_EQ(m->type(), MsgType::kWatchEvent);
    guest.events.push_back(m->payload);
  }
  EXPECT_EQ(guest.events[0], "data\0tok\0"s);
  EXPECT_EQ(guest.events[1], "data/y\0tok\0"s);

  // A transaction, and a value (at the 2048-byte node quota) larger than the
  // 1024-byte ring in both directions.
  std::string tx = guest.Ask(MsgType::kTransactionStart, "\0"s);
  uint32_t tx_id = std::stoul(tx);
  std::string big(2000, 'v');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('A' + i % 23);
  EXPECT_EQ(guest.Ask(MsgType::kWrite, "data/big\0"s + big, tx_id), kOk);
  EXPECT_EQ(guest.Ask(MsgType::kTransactionEnd, "T\0"s, tx_id), kOk);
  EXPECT_TRUE(guest.Ask(MsgType::kRead, "data/big\0"s) == big);
  EXPECT_TRUE(Dom0(MsgType::kRead, "/local/domain/5/data/big\0"s) == big);

  // RELEASE unmaps the ring and fires @releaseDomain.
  EXPECT_TRUE(dom0_->Release(5).ok());
  EXPECT_TRUE(Eventually(kWait, [&] { return !g.bound.load(); }));
  EXPECT_TRUE(Eventually(kWait, [&] { return EventCount("@releaseDomain") == 2; }));
}

TEST_F(RingServerTest, ShutdownFiresReleaseDomainAndDeathUnmapsTheRing) {
  Start();
  MemoryRings::Guest& g = Introduce(9, 0x99, 3);
  Watch("@releaseDomain");
  RingGuest guest(rings_, g);
  EXPECT_EQ(guest.Ask(MsgType::kWrite, "state\0up"s), kOk);

  rings_.SetState(9, DomainState::kShutDown);
  EXPECT_TRUE(Eventually(kWait, [&] { return EventCount("@releaseDomain") == 2; }));
  EXPECT_EQ(Dom0(MsgType::kIsDomainIntroduced, "9\0"s), "T\0"s);  // shut down, not gone
  EXPECT_TRUE(g.bound);
  EXPECT_EQ(guest.Ask(MsgType::kRead, "state\0"s), "up");

  rings_.SetState(9, DomainState::kDead);
  EXPECT_TRUE(Eventually(kWait, [&] { return EventCount("@releaseDomain") == 3; }));
  EXPECT_TRUE(Eventually(kWait, [&] { return !g.bound.load(); }));
  EXPECT_EQ(Dom0(MsgType::kIsDomainIntroduced, "9\0"s), "F\0"s);
  EXPECT_EQ(Dom0(MsgType::kRead, "/local/domain/9/state\0"s),
            "up");  // its nodes stay for the toolstack
}

TEST_F(RingServerTest, Dom0KernelRingIsServedPrivileged) {
  MemoryRings::Guest& kernel = rings_.AddDom0(1);
  Start();
  ASSERT_TRUE(Eventually(kWait, [&] { return kernel.bound.load(); }));
  RingGuest ring(rings_, kernel);
  EXPECT_EQ(ring.Ask(MsgType::kWrite, "/tool/kernel\0ring"s), kOk);
  EXPECT_EQ(Dom0(MsgType::kRead, "/tool/kernel\0"s), "ring");
  // INTRODUCE through the kernel's ring, as xl does through /dev/xen/xenbus.
  MemoryRings::Guest& g = rings_.AddGuest(3, 0x33, 4);
  EXPECT_EQ(ring.Ask(MsgType::kIntroduce,
                     "3\0"
                     "51\0"
                     "4\0"s),
            kOk);
  EXPECT_TRUE(Eventually(kWait, [&] { return g.bound.load(); }));
}

TEST_F(RingServerTest, NoDomainInitLeavesDom0RingAlone) {
  MemoryRings::Guest& kernel = rings_.AddDom0(1);
  ServerOptions opts;
  opts.dom0_ring = false;
  Start(opts);
  EXPECT_EQ(Dom0(MsgType::kWrite, "/x\0y"s), kOk);  // a round trip: start-up is over
  EXPECT_FALSE(kernel.bound);
}

TEST_F(RingServerTest, UnmappableDomainIsLoggedAndOthersGoOn) {
  Start();
  EXPECT_TRUE(dom0_->Introduce(4, 0xdead, 1).ok());  // no such page
  EXPECT_EQ(Dom0(MsgType::kIsDomainIntroduced, "4\0"s), "T\0"s);
  MemoryRings::Guest& g = Introduce(5, 0x55, 2);
  RingGuest guest(rings_, g);
  EXPECT_EQ(guest.Ask(MsgType::kGetDomainPath, "5\0"s), "/local/domain/5\0"s);
}

// A guest that stops reading replies: xsd fills its response ring, stops taking
// requests (they wait in the request ring), and loses none of them.
TEST_F(RingServerTest, GuestThatDoesNotReadIsPausedAndLosesNothing) {
  Quota quota;
  quota.outstanding = 4;
  Start({}, quota);
  MemoryRings::Guest& g = Introduce(6, 0x66, 5);
  EXPECT_EQ(Dom0(MsgType::kWrite, "/local/domain/6/v\0"s + std::string(500, 'r')), kOk);
  RingGuest guest(rings_, g);
  std::string batch;
  for (uint32_t id = 1; id <= 10; ++id) batch += wire::Encode(MsgType::kRead, id, 0, "v\0"s);
  ASSERT_TRUE(guest.Send(batch));
  ASSERT_TRUE(Eventually(
      kWait, [&] { return Index(g.page.rsp_prod) - g.page.rsp_cons == XENSTORE_RING_SIZE; }));
  std::string more;
  for (uint32_t id = 11; id <= 15; ++id) more += wire::Encode(MsgType::kRead, id, 0, "v\0"s);
  ASSERT_TRUE(guest.Send(more));
  EXPECT_EQ(Dom0(MsgType::kRead, "/local/domain/6/v\0"s).size(), 500u);  // xsd saw the kick by now
  EXPECT_EQ(g.page.req_prod - Index(g.page.req_cons), more.size());  // and left them in the ring
  for (uint32_t id = 1; id <= 15; ++id) {
    auto m = guest.Receive();
    ASSERT_TRUE(m) << "reply " << id;
    EXPECT_EQ(m->header.req_id, id);
    EXPECT_EQ(m->payload, std::string(500, 'r'));
  }
  EXPECT_EQ(g.page.req_prod, Index(g.page.req_cons));
}

TEST_F(RingServerTest, HostileIndexesDropOnlyThatGuest) {
  Start();
  MemoryRings::Guest& bad = Introduce(7, 0x77, 8);
  MemoryRings::Guest& good = Introduce(8, 0x88, 9);
  std::atomic_ref<uint32_t>(bad.page.req_prod)
      .store(Index(bad.page.req_cons) + 5000);  // > a ring ahead
  rings_.Kick(bad);
  EXPECT_TRUE(Eventually(kWait, [&] { return !bad.bound.load(); }));
  EXPECT_EQ(Index(bad.page.error), static_cast<uint32_t>(XENSTORE_ERROR_RINGIDX));
  RingGuest guest(rings_, good);
  EXPECT_EQ(guest.Ask(MsgType::kWrite, "still\0fine"s), kOk);
  EXPECT_EQ(Dom0(MsgType::kRead, "/local/domain/8/still\0"s), "fine");
  // A re-INTRODUCE maps the dropped domain's ring again.
  bad.page = {};
  EXPECT_TRUE(dom0_->Introduce(7, 0x77, 8).ok());
  EXPECT_TRUE(Eventually(kWait, [&] { return bad.bound.load(); }));
  RingGuest again(rings_, bad);
  EXPECT_EQ(again.Ask(MsgType::kGetDomainPath, "7\0"s), "/local/domain/7\0"s);
}

}  // namespace
}  // namespace txend::xsd
