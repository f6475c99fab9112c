#include "toolstack/domain/domain_locks.h"

#include <algorithm>

namespace txend::toolstack {

DomainLock::DomainLock(DomainLock&& other) noexcept
    : locks_(std::exchange(other.locks_, nullptr)), keys_(std::move(other.keys_)) {}

DomainLock::~DomainLock() {
  if (locks_) locks_->Release(keys_);
}

bool DomainLock::Holds(const std::string& key) const {
  return locks_ && std::find(keys_.begin(), keys_.end(), key) != keys_.end();
}

bool DomainLocks::AnyHeldLocked(const std::vector<std::string>& keys, std::string* holder) const {
  for (const auto& key : keys) {
    auto it = held_.find(key);
    if (it == held_.end()) continue;
    *holder = it->second;
    return true;
  }
  return false;
}

Result<DomainLock> DomainLocks::Lock(std::vector<std::string> keys, const std::string& op,
                                     const std::string& what, std::chrono::milliseconds wait) {
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  const auto deadline = std::chrono::steady_clock::now() + wait;
  MutexLock lock(&mu_);
  std::string holder;
  while (AnyHeldLocked(keys, &holder)) {
    if (!released_.WaitUntil(deadline) && AnyHeldLocked(keys, &holder))
      return Status::Error(
          EBUSY, what + " is busy: " + holder + " in progress (try again once it has finished)");
  }
  for (const auto& key : keys) held_[key] = op;
  return DomainLock(this, std::move(keys));
}

void DomainLocks::Release(const std::vector<std::string>& keys) {
  MutexLock lock(&mu_);
  for (const auto& key : keys) held_.erase(key);
  released_.SignalAll();
}

}  // namespace txend::toolstack
