// Clock: where the simulated hypervisor reads time (vcpu time accounting).
// SteadyClock is the real one; tests inject a ManualClock they advance.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace txend::toolstack {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual uint64_t NowNs() = 0;  // monotonic
};

class SteadyClock : public Clock {
 public:
  uint64_t NowNs() override {
    auto d = std::chrono::steady_clock::now().time_since_epoch();
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
  }
};

class ManualClock : public Clock {
 public:
  uint64_t NowNs() override { return now_ns_.load(); }
  void Advance(uint64_t ns) { now_ns_ += ns; }

 private:
  std::atomic<uint64_t> now_ns_{0};
};

}  // namespace txend::toolstack
