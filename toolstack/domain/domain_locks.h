// DomainLocks: one lock per domain instead of one for every lifecycle
// operation. An operation holds the keys it changes — its domain's uuid, and
// "name:<name>" for a name it takes — for its whole length, so operations on
// one domain run one at a time while operations on different domains run side
// by side. Keys are taken all at once (never one after another), so no two
// operations can deadlock. Waits are bounded: an operation that cannot get
// its keys in time fails with EBUSY naming the operation that holds them.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "base/mutex.h"
#include "base/result.h"

namespace txend::toolstack {

class DomainLocks;

// Keys held by one operation, released when it is destroyed. The *Locked
// methods of the toolstack take one as proof that their caller holds the
// domain they act on.
class DomainLock {
 public:
  DomainLock(DomainLock&& other) noexcept;
  DomainLock& operator=(DomainLock&&) = delete;
  DomainLock(const DomainLock&) = delete;
  ~DomainLock();
  // True if this lock holds `key` (a uuid or "name:<name>").
  bool Holds(const std::string& key) const;

 private:
  friend class DomainLocks;
  DomainLock(DomainLocks* locks, std::vector<std::string> keys)
      : locks_(locks), keys_(std::move(keys)) {}
  DomainLocks* locks_;
  std::vector<std::string> keys_;
};

class DomainLocks {
 public:
  // The key of a domain name.
  static std::string NameKey(const std::string& name) { return "name:" + name; }

  // Takes every key once none is held, waiting at most `wait`; `op` says who
  // holds them ("create", "migrate") and `what` names the domain in EBUSY.
  Result<DomainLock> Lock(std::vector<std::string> keys, const std::string& op,
                          const std::string& what, std::chrono::milliseconds wait)
      LOCKS_EXCLUDED(mu_);

 private:
  friend class DomainLock;
  void Release(const std::vector<std::string>& keys) LOCKS_EXCLUDED(mu_);
  bool AnyHeldLocked(const std::vector<std::string>& keys, std::string* holder) const
      EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Mutex mu_;
  CondVar released_{&mu_};
  std::map<std::string, std::string> held_ GUARDED_BY(mu_);  // key -> operation holding it
};

}  // namespace txend::toolstack
