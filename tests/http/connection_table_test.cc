// ConnectionTable on its own: per-peer counts, and which waiting connection a
// full table sheds.
#include "http/connection_table.h"

#include <gtest/gtest.h>

namespace txend::http {
namespace {

using Admission = ConnectionTable::Admission;

// Records the tickets it was evicted with.
struct FakeConnection : Evictable {
  void Evict(uint64_t ticket) override { evicted_with.push_back(ticket); }
  std::vector<uint64_t> evicted_with;
};

TEST(ConnectionTable, APeerHoldsAtMostItsLimit) {
  ConnectionTable table({.total = 100, .per_peer = 2});
  EXPECT_EQ(table.Admit("10.0.0.1"), Admission::kAdmitted);
  EXPECT_EQ(table.Admit("10.0.0.1"), Admission::kAdmitted);
  EXPECT_EQ(table.Admit("10.0.0.1"), Admission::kPeerFull);
  EXPECT_EQ(table.Admit("10.0.0.2"), Admission::kAdmitted);
  EXPECT_EQ(table.open(), 3u);
  table.Leave("10.0.0.1");
  EXPECT_EQ(table.Admit("10.0.0.1"), Admission::kAdmitted);
}

TEST(ConnectionTable, AFullTableShedsTheLongestWaitingLiveConnection) {
  ConnectionTable table({.total = 3, .per_peer = 0});
  auto first = std::make_shared<FakeConnection>();
  auto second = std::make_shared<FakeConnection>();
  auto third = std::make_shared<FakeConnection>();
  for (int i = 0; i < 3; ++i) ASSERT_EQ(table.Admit("p"), Admission::kAdmitted);
  uint64_t t1 = table.StartWaiting(first);
  uint64_t t2 = table.StartWaiting(second);
  table.StartWaiting(third);
  table.StopWaiting(t1);  // its request arrived: not sheddable
  EXPECT_EQ(table.Admit("q"), Admission::kAdmitted);
  EXPECT_TRUE(first->evicted_with.empty());
  EXPECT_EQ(second->evicted_with, std::vector<uint64_t>{t2});
  EXPECT_EQ(table.waiting(), 1u);

  third.reset();  // gone without a word: skipped, and then nothing waits
  EXPECT_EQ(table.Admit("r"), Admission::kFull);
  EXPECT_EQ(table.waiting(), 0u);
  EXPECT_EQ(table.open(), 4u);  // the shed one leaves when it has closed
}

}  // namespace
}  // namespace txend::http
