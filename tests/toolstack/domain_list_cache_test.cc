// A list of domains reads xenstore only for domains whose nodes changed since
// the last list (DomainStateCache), and still shows every change: a real xsd,
// the simulated hypervisor and simulated kernels.
#include <gtest/gtest.h>

#include "tests/support/eventually.h"
#include "tests/toolstack/sim_host.h"
#include "toolstack/domain/domain_queries.h"
#include "toolstack/xs/plain.h"

namespace txend::toolstack {
namespace {

using testing::Eventually;

constexpr std::chrono::seconds kWait{10};

class DomainListCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : {"one", "two"}) {
      auto r = host_.toolstack->lifecycle().Create(host_.Valid(name), false);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      domids_.push_back(r->info->domid);
    }
  }
  // The transactions one list costs, and the list.
  std::pair<uint64_t, std::vector<DomainRecord>> List() {
    uint64_t before = host_.Stat("transactions_started");
    auto all = host_.toolstack->queries().List();
    EXPECT_TRUE(all.ok()) << all.status().ToString();
    return {host_.Stat("transactions_started") - before,
            all.ok() ? *all : std::vector<DomainRecord>{}};
  }
  // Once the guests have settled, a list reads nothing.
  bool Settled() { return List().first == 0; }
  const DomainRecord* Find(const std::vector<DomainRecord>& all, uint32_t domid) {
    for (const auto& r : all)
      if (r.info && r.info->domid == domid) return &r;
    return nullptr;
  }

  SimHost host_;
  std::vector<uint32_t> domids_;
};

TEST_F(DomainListCacheTest, AListOfUnchangedDomainsReadsNothing) {
  ASSERT_TRUE(Eventually(kWait, [&] { return Settled(); }));
  auto [transactions, all] = List();
  EXPECT_EQ(transactions, 0u);
  ASSERT_EQ(all.size(), 3u);  // Domain-0 and the two guests
  const DomainRecord* one = Find(all, domids_[0]);
  ASSERT_NE(one, nullptr);
  EXPECT_EQ(one->memory_target_kib, 131072u);  // from the cache: what xenstore holds
  ASSERT_EQ(one->devices.size(), 3u);
  EXPECT_EQ(one->devices[0].backend_state, XenbusState::kConnected);
}

TEST_F(DomainListCacheTest, AWriteUnderADomainIsSeenByTheNextList) {
  ASSERT_TRUE(Eventually(kWait, [&] { return Settled(); }));
  std::string target = "/local/domain/" + std::to_string(domids_[1]) + "/memory/target";
  ASSERT_TRUE(xs::PlainWrite(*host_.xs, target, "65536").ok());
  EXPECT_TRUE(Eventually(kWait, [&] {
    auto [transactions, all] = List();
    const DomainRecord* two = Find(all, domids_[1]);
    return two && two->memory_target_kib == 65536u;
  }));
}

TEST_F(DomainListCacheTest, ABackendWriteMakesTheNextListReadAgain) {
  ASSERT_TRUE(Eventually(kWait, [&] { return Settled(); }));
  std::string node =
      "/local/domain/0/backend/vif/" + std::to_string(domids_[0]) + "/0/list-cache-test";
  ASSERT_TRUE(xs::PlainWrite(*host_.xs, node, "1").ok());
  // The watch event may lag the write by a little: some list soon after reads again (one snapshot).
  EXPECT_TRUE(Eventually(kWait, [&] { return List().first == 1; }));
  // Then it holds again. Not always by the very next list: the count is xsd's,
  // of every client, and now and then a simulated guest or backend starts a
  // transaction of its own just then (1 run in ~150 failed so).
  EXPECT_TRUE(Eventually(kWait, [&] { return Settled(); }));
}

TEST_F(DomainListCacheTest, AListFromTheCacheStillShowsTheConsoleTty) {
  ASSERT_TRUE(Eventually(kWait, [&] { return Settled(); }));
  std::string tty = "/local/domain/" + std::to_string(domids_[0]) + "/console/tty";
  ASSERT_TRUE(xs::PlainWrite(*host_.xs, tty, "/dev/pts/77").ok());
  ASSERT_TRUE(Eventually(kWait, [&] {
    auto [transactions, all] = List();
    const DomainRecord* one = Find(all, domids_[0]);
    return one && one->console_tty == "/dev/pts/77";
  }));
  ASSERT_TRUE(Eventually(kWait, [&] { return Settled(); }));
  auto [transactions, all] = List();  // read nothing: every field from the cache
  EXPECT_EQ(transactions, 0u);
  const DomainRecord* one = Find(all, domids_[0]);
  ASSERT_NE(one, nullptr);
  EXPECT_EQ(one->console_tty, "/dev/pts/77");
}

// What lets txend's accepting thread answer a read itself: Get would ask xenstore
// nothing. Any write since the last catch-up, or a change to the domain, says no.
TEST_F(DomainListCacheTest, AReadIsAtHandOnlyWhileNothingWasWrittenAndItsDomainIsCached) {
  DomainQueries& queries = host_.toolstack->queries();
  std::string one = std::to_string(domids_[0]);
  auto read_then_at_hand = [&] { return queries.Get(one).ok() && queries.GetIsAtHand(one); };
  ASSERT_TRUE(Eventually(kWait, read_then_at_hand));
  EXPECT_TRUE(queries.GetIsAtHand("no-such-domain"));  // a 404 needs nothing
  EXPECT_TRUE(queries.GetIsAtHand("Domain-0"));
  std::string target = "/local/domain/" + one + "/memory/target";
  ASSERT_TRUE(xs::PlainWrite(*host_.xs, target, "65536").ok());
  EXPECT_FALSE(queries.GetIsAtHand(one)) << "a write acknowledged before the question";
  EXPECT_TRUE(Eventually(kWait, read_then_at_hand));
}

}  // namespace
}  // namespace txend::toolstack
