// DomainEvents on its own, and as the registry publishes into it: waits end
// when a change arrives, not on a timer; a waiter too far behind is told so.
#include "toolstack/domain/domain_events.h"

#include <future>
#include <thread>

#include <gtest/gtest.h>

#include "tests/support/daemon_process.h"
#include "toolstack/domain/domain_registry.h"

namespace txend::toolstack {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(DomainEventsTest, AWaitEndsWithTheChangeThatArrives) {
  DomainEvents events;
  uint64_t since = events.Next();
  auto waiter =
      std::async(std::launch::async, [&] { return events.WaitSince(since, seconds(30)); });
  EXPECT_EQ(waiter.wait_for(milliseconds(50)), std::future_status::timeout);  // nothing yet
  events.Publish("stopped", "demo", "u-1", 7);
  ASSERT_EQ(waiter.wait_for(seconds(10)), std::future_status::ready);  // not the 30 s
  DomainEventBatch batch = waiter.get();
  EXPECT_FALSE(batch.lost);
  EXPECT_EQ(batch.next, since + 1);
  ASSERT_EQ(batch.events.size(), 1u);
  EXPECT_EQ(batch.events[0].seq, since);
  EXPECT_EQ(batch.events[0].change, "stopped");
  EXPECT_EQ(batch.events[0].name, "demo");
  EXPECT_EQ(batch.events[0].domid, 7u);
}

TEST(DomainEventsTest, PastEventsAreReturnedAtOnceAndAnIdleWaitEndsEmpty) {
  DomainEvents events;
  events.Publish("started", "a", "u-a", 1);
  events.Publish("started", "b", "u-b", 2);
  DomainEventBatch all = events.WaitSince(1, seconds(30));
  ASSERT_EQ(all.events.size(), 2u);
  EXPECT_EQ(all.events[1].name, "b");
  DomainEventBatch idle = events.WaitSince(all.next, milliseconds(20));
  EXPECT_TRUE(idle.events.empty());
  EXPECT_FALSE(idle.lost);
  EXPECT_EQ(idle.next, all.next);
}

TEST(DomainEventsTest, AWaiterTooFarBehindOrFromAnotherRunIsToldItLostEvents) {
  DomainEvents events;
  for (size_t i = 0; i < DomainEvents::kKept + 5; ++i) events.Publish("changed", "d", "u", 1);
  DomainEventBatch behind = events.WaitSince(1, milliseconds(0));
  EXPECT_TRUE(behind.lost);
  EXPECT_EQ(behind.events.size(), DomainEvents::kKept);
  EXPECT_EQ(behind.events.front().seq, 6u);
  DomainEventBatch ahead = events.WaitSince(behind.next + 100, milliseconds(0));
  EXPECT_TRUE(ahead.lost);
  EXPECT_TRUE(ahead.events.empty());
}

TEST(DomainEventsTest, CloseEndsEveryWait) {
  DomainEvents events;
  auto waiter =
      std::async(std::launch::async, [&] { return events.WaitSince(events.Next(), seconds(30)); });
  std::this_thread::sleep_for(milliseconds(20));
  events.Close();
  ASSERT_EQ(waiter.wait_for(seconds(10)), std::future_status::ready);
  EXPECT_TRUE(waiter.get().events.empty());
}

TEST(DomainEventsTest, TheRegistryPublishesStartsAndStops) {
  testing::TempDir dir;
  auto registry = DomainRegistry::Open(dir.path(), SeededRandomBytes(1)).value();
  DomainConfig c;
  c.name = "demo";
  c.uuid = "11111111-2222-4333-8444-555555555555";
  c.memory_mb = 64;
  c.image.kernel = "/boot/vmlinuz";
  auto config = RegisteredConfig::Make(ValidConfig::Check(c, SeededRandomBytes(2)).value()).value();
  uint64_t since = registry->events().Next();
  ASSERT_TRUE(registry->AddRunning(config, 3, 0).ok());
  registry->RemoveRunning(3);
  DomainEventBatch batch = registry->events().WaitSince(since, milliseconds(0));
  ASSERT_EQ(batch.events.size(), 2u);
  EXPECT_EQ(batch.events[0].change, "started");
  EXPECT_EQ(batch.events[1].change, "stopped");
  EXPECT_EQ(batch.events[1].uuid, c.uuid);
  EXPECT_EQ(batch.events[1].domid, 3u);
}

}  // namespace
}  // namespace txend::toolstack
