#include "xsd/rate_limiter.h"

#include <algorithm>

namespace txend::xsd {

RateLimiter::Bucket& RateLimiter::Refilled(uint32_t domid, Clock::time_point now) {
  auto burst = static_cast<double>(std::max<size_t>(quota_.request_burst, 1));
  auto [it, fresh] = buckets_.try_emplace(domid, Bucket{burst, now});
  Bucket& b = it->second;
  if (!fresh && now > b.updated) {
    double seconds = std::chrono::duration<double>(now - b.updated).count();
    b.tokens = std::min(burst, b.tokens + seconds * static_cast<double>(quota_.request_rate));
    b.updated = now;
  }
  return b;
}

bool RateLimiter::Allows(uint32_t domid, Clock::time_point now) {
  if (domid == 0 || quota_.request_rate == 0) return true;
  return Refilled(domid, now).tokens >= 1;
}

void RateLimiter::Take(uint32_t domid, Clock::time_point now) {
  if (domid == 0 || quota_.request_rate == 0) return;
  Refilled(domid, now).tokens -= 1;
}

RateLimiter::Clock::time_point RateLimiter::NextToken(uint32_t domid, Clock::time_point now) {
  if (Allows(domid, now)) return now;
  double missing = 1 - buckets_[domid].tokens;
  auto wait = std::chrono::duration<double>(missing / static_cast<double>(quota_.request_rate));
  return now + std::chrono::ceil<Clock::duration>(wait);
}

}  // namespace txend::xsd
