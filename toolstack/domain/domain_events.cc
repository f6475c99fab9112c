#include "toolstack/domain/domain_events.h"

#include <algorithm>

namespace txend::toolstack {

void DomainEvents::Publish(std::string change, std::string name, std::string uuid,
                           std::optional<uint32_t> domid) {
  MutexLock lock(&mu_);
  kept_.push_back({next_++, std::move(change), std::move(name), std::move(uuid), domid});
  if (kept_.size() > kKept) kept_.pop_front();
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    if (it->second.since >= next_) {
      ++it;
      continue;
    }
    it->second.wake();
    it = waiters_.erase(it);
  }
}

uint64_t DomainEvents::Next() const {
  MutexLock lock(&mu_);
  return next_;
}

DomainEventBatch DomainEvents::CollectLocked(uint64_t since) const {
  DomainEventBatch batch;
  batch.next = next_;
  uint64_t first = next_ - kept_.size();
  batch.lost = since < first || since > next_;  // too far behind, or from an earlier txend
  for (uint64_t seq = std::max(since, first); seq < next_; ++seq)
    batch.events.push_back(kept_[seq - first]);
  return batch;
}

DomainEventBatch DomainEvents::Since(uint64_t since) const {
  MutexLock lock(&mu_);
  return CollectLocked(since);
}

std::shared_ptr<void> DomainEvents::NotifyFrom(uint64_t since, Wake wake) {
  MutexLock lock(&mu_);
  if (closed_ || since < next_) {
    wake();
    return nullptr;
  }
  uint64_t id = ++last_waiter_;
  waiters_.emplace(id, Waiter{since, std::move(wake)});
  return std::shared_ptr<void>(nullptr, [this, id](void*) { Forget(id); });
}

void DomainEvents::Forget(uint64_t waiter) {
  MutexLock lock(&mu_);
  waiters_.erase(waiter);
}

void DomainEvents::Close() {
  MutexLock lock(&mu_);
  closed_ = true;
  for (auto& [id, waiter] : waiters_) waiter.wake();
  waiters_.clear();
}

}  // namespace txend::toolstack
