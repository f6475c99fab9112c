// Internal to the simulated hypervisor: the state of one simulated domain,
// and the event batch a locked operation fills for dispatch after unlocking.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <vector>

#include "toolstack/hypervisor/sim/sim_hypervisor.h"

namespace txend::toolstack {

struct SimHypervisor::Domain {
  struct Vcpu {
    bool online = false;
    bool blocked = false;
    uint64_t cpu_time_ns = 0;
    CpuSet affinity;
  };

  DomId domid = 0;
  Uuid uuid;
  uint32_t ssidref = 0;
  bool hvm = false;
  uint32_t pause_count = 1;  // created paused, as on Xen
  bool shutdown = false;
  ShutdownReason reason = ShutdownReason::kPoweroff;
  bool dying = false;
  uint32_t refs = 0;  // HoldReference count
  uint64_t max_pages = 0;
  uint64_t shadow_kib = 0;
  bool built = false;
  GuestMemory memory;
  std::vector<Vcpu> vcpus;
  SchedCredit credit;
  uint32_t max_evtchn_port = 0;
  std::map<uint32_t, DomId> ports;  // allocated port -> remote domain
  uint32_t store_port = 0;
  uint32_t console_port = 0;
  uint64_t mfn_base = 0;
  uint64_t store_pfn = 0;
  uint64_t console_pfn = 0;
  uint64_t settled_ns = 0;  // the clock reading its vcpus' cpu time is counted up to

  bool Runnable() const { return pause_count == 0 && !shutdown && !dying; }
  uint64_t UsedKib() const { return memory.nr_pages() * kPageKib + shadow_kib; }
};

class SimHypervisor::Events {
 public:
  void Add(SimEvent e) { events_.push_back(std::move(e)); }
  const std::vector<SimEvent>& list() const { return events_; }

 private:
  std::vector<SimEvent> events_;
};

// Runs fn(Events&) with the mutex held and the clock read (each domain's vcpu
// time is settled when a call finds it), then hands the events to listeners
// with the mutex released.
template <typename F>
auto SimHypervisor::Locked(F&& fn) {
  Events events;
  auto result = [&] {
    std::lock_guard lock(mu_);
    settled_ns_ = std::max(options_.clock->NowNs(), settled_ns_);
    auto r = fn(events);
    for (const auto& e : events.list()) dirty_.insert(e.domid);
    PersistDirty();
    return r;
  }();
  Dispatch(events);
  return result;
}

}  // namespace txend::toolstack
