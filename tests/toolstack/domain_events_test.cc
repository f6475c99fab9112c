// DomainEvents on its own, and as the registry publishes into it: a waiter is
// woken when a change arrives, not on a timer; one too far behind is told so.
#include "toolstack/domain/domain_events.h"

#include <gtest/gtest.h>

#include "tests/support/daemon_process.h"
#include "toolstack/domain/domain_registry.h"

namespace txend::toolstack {
namespace {

TEST(DomainEventsTest, AWaiterIsWokenByTheChangeThatArrives) {
  DomainEvents events;
  uint64_t since = events.Next();
  int wakes = 0;
  auto handle = events.NotifyFrom(since, [&] { ++wakes; });
  EXPECT_EQ(wakes, 0);  // nothing yet
  events.Publish("stopped", "demo", "u-1", 7);
  EXPECT_EQ(wakes, 1);
  events.Publish("started", "demo", "u-1", 8);
  EXPECT_EQ(wakes, 1);  // once
  DomainEventBatch batch = events.Since(since);
  EXPECT_FALSE(batch.lost);
  EXPECT_EQ(batch.next, since + 2);
  ASSERT_EQ(batch.events.size(), 2u);
  EXPECT_EQ(batch.events[0].seq, since);
  EXPECT_EQ(batch.events[0].change, "stopped");
  EXPECT_EQ(batch.events[0].name, "demo");
  EXPECT_EQ(batch.events[0].domid, 7u);
}

TEST(DomainEventsTest, PastEventsWakeAtOnceAndNothingNewIsAnEmptyBatch) {
  DomainEvents events;
  events.Publish("started", "a", "u-a", 1);
  events.Publish("started", "b", "u-b", 2);
  bool woken = false;
  auto handle = events.NotifyFrom(1, [&] { woken = true; });
  EXPECT_TRUE(woken);
  DomainEventBatch all = events.Since(1);
  ASSERT_EQ(all.events.size(), 2u);
  EXPECT_EQ(all.events[1].name, "b");
  DomainEventBatch idle = events.Since(all.next);
  EXPECT_TRUE(idle.events.empty());
  EXPECT_FALSE(idle.lost);
  EXPECT_EQ(idle.next, all.next);
}

TEST(DomainEventsTest, AWaiterTooFarBehindOrFromAnotherRunIsToldItLostEvents) {
  DomainEvents events;
  for (size_t i = 0; i < DomainEvents::kKept + 5; ++i) events.Publish("changed", "d", "u", 1);
  DomainEventBatch behind = events.Since(1);
  EXPECT_TRUE(behind.lost);
  EXPECT_EQ(behind.events.size(), DomainEvents::kKept);
  EXPECT_EQ(behind.events.front().seq, 6u);
  DomainEventBatch ahead = events.Since(behind.next + 100);
  EXPECT_TRUE(ahead.lost);
  EXPECT_TRUE(ahead.events.empty());
}

TEST(DomainEventsTest, CloseWakesEveryWaiterAndLaterOnesAtOnce) {
  DomainEvents events;
  int wakes = 0;
  auto first = events.NotifyFrom(events.Next(), [&] { ++wakes; });
  auto second = events.NotifyFrom(events.Next() + 5, [&] { ++wakes; });
  events.Close();
  EXPECT_EQ(wakes, 2);
  auto late = events.NotifyFrom(events.Next(), [&] { ++wakes; });
  EXPECT_EQ(wakes, 3);
  EXPECT_TRUE(events.Since(events.Next()).events.empty());
}

TEST(DomainEventsTest, ADroppedHandleIsNeverWoken) {
  DomainEvents events;
  int wakes = 0;
  auto handle = events.NotifyFrom(events.Next(), [&] { ++wakes; });
  handle.reset();
  events.Publish("stopped", "demo", "u-1", 7);
  EXPECT_EQ(wakes, 0);
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
  DomainEventBatch batch = registry->events().Since(since);
  ASSERT_EQ(batch.events.size(), 2u);
  EXPECT_EQ(batch.events[0].change, "started");
  EXPECT_EQ(batch.events[1].change, "stopped");
  EXPECT_EQ(batch.events[1].uuid, c.uuid);
  EXPECT_EQ(batch.events[1].domid, 3u);
}

}  // namespace
}  // namespace txend::toolstack
