// DomainEvents: the domain lifecycle changes txend has seen, numbered in
// order, so that waiters (`xm shutdown -w`, GET /xend/events) are told when
// something happens instead of polling, holding no thread while they wait.
// Keeps the latest kKept changes; a waiter further behind is told it lost
// some and re-reads what it needs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/mutex.h"

namespace txend::toolstack {

// One change: `change` is started, stopped, shutdown, crashed, changed, defined or undefined.
struct DomainEvent {
  uint64_t seq = 0;
  std::string change;
  std::string name;
  std::string uuid;
  std::optional<uint32_t> domid;
};

// What a wait returns: the events from `since` on, and where the next wait starts.
struct DomainEventBatch {
  uint64_t next = 0;  // the seq the next event will get
  // Events between `since` and the first one returned are unknown: dropped, or
  // `since` came from before txend restarted.
  bool lost = false;
  std::vector<DomainEvent> events;
};

class DomainEvents {
 public:
  static constexpr size_t kKept = 4096;

  void Publish(std::string change, std::string name, std::string uuid,
               std::optional<uint32_t> domid) LOCKS_EXCLUDED(mu_);
  uint64_t Next() const LOCKS_EXCLUDED(mu_);
  // The events numbered `since` or later (none yet: an empty batch).
  DomainEventBatch Since(uint64_t since) const LOCKS_EXCLUDED(mu_);
  // Calls `wake` once when there is an event numbered `since` or later, or on
  // Close (at once if so already); dropping the handle first cancels it. `wake`
  // runs under this object's lock: it must be quick and not call back here.
  using Wake = std::function<void()>;
  std::shared_ptr<void> NotifyFrom(uint64_t since, Wake wake) LOCKS_EXCLUDED(mu_);
  // Wakes every waiter now and every later one at once (the daemon is stopping).
  void Close() LOCKS_EXCLUDED(mu_);

 private:
  struct Waiter {
    uint64_t since;
    Wake wake;
  };
  DomainEventBatch CollectLocked(uint64_t since) const EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Forget(uint64_t waiter) LOCKS_EXCLUDED(mu_);

  mutable Mutex mu_;
  uint64_t next_ GUARDED_BY(mu_) = 1;
  bool closed_ GUARDED_BY(mu_) = false;
  std::deque<DomainEvent> kept_ GUARDED_BY(mu_);  // seqs next_ - kept_.size() .. next_ - 1
  uint64_t last_waiter_ GUARDED_BY(mu_) = 0;
  std::map<uint64_t, Waiter> waiters_ GUARDED_BY(mu_);  // by id, none yet due
};

}  // namespace txend::toolstack
