#include "toolstack/domain/domain_events.h"

#include <algorithm>

namespace txend::toolstack {

void DomainEvents::Publish(std::string change, std::string name, std::string uuid,
                           std::optional<uint32_t> domid) {
  MutexLock lock(&mu_);
  kept_.push_back({next_++, std::move(change), std::move(name), std::move(uuid), domid});
  if (kept_.size() > kKept) kept_.pop_front();
  changed_.SignalAll();
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

DomainEventBatch DomainEvents::WaitSince(uint64_t since, std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  MutexLock lock(&mu_);
  while (!closed_ && next_ <= since && changed_.WaitUntil(deadline)) {
  }
  return CollectLocked(since);
}

void DomainEvents::Close() {
  MutexLock lock(&mu_);
  closed_ = true;
  changed_.SignalAll();
}

}  // namespace txend::toolstack
