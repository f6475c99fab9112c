// RateLimiter: a token bucket per unprivileged domain, shared by all of its
// connections: `request_rate` tokens a second, at most `request_burst` saved
// up. The server takes one per request and stops reading a domain whose
// bucket is empty until it refills, so a flooding guest waits (and, blocked on
// its socket, spends no CPU) instead of taking dom0's. Pure: time is passed in.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>

#include "xsd/quota.h"

namespace txend::xsd {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  // Reads the rates from `quota` on every call (CONTROL quota may change them).
  explicit RateLimiter(const Quota& quota) : quota_(quota) {}

  // True when `domid` may send a request now. Domain 0 and a rate of 0 are unlimited.
  bool Allows(uint32_t domid, Clock::time_point now);
  // Takes the token of a request `domid` sent.
  void Take(uint32_t domid, Clock::time_point now);
  // When `domid` will have a token again (`now` if it has one).
  Clock::time_point NextToken(uint32_t domid, Clock::time_point now);
  // Forgets a domain that is gone.
  void Forget(uint32_t domid) { buckets_.erase(domid); }

 private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point updated;
  };
  Bucket& Refilled(uint32_t domid, Clock::time_point now);

  const Quota& quota_;
  std::map<uint32_t, Bucket> buckets_;
};

}  // namespace txend::xsd
