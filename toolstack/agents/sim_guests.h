// SimGuests: a simulated PV kernel for every running domain of the
// SimHypervisor. Each connects to xsd through the domain's own socket (as the
// unprivileged domain, like a real guest's ring), and does what Linux does:
// acts on control/shutdown, balloons to memory/target, onlines vcpus from
// cpu/<n>/availability, and brings its device frontends to Connected. When the
// kernel stops (shutdown, destroy) its connection closes, and xsd reports the
// domain through @releaseDomain. Kernels use plain requests, not transactions.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "toolstack/hypervisor/sim/sim_hypervisor.h"

namespace txend::toolstack {

class SimGuestKernel;

// What every simulated guest does besides idling: dirty memory at a steady
// rate (a workload, for live migration), within a working set.
struct SimWorkload {
  double dirty_mib_per_s = 0;    // 0: the guests write no memory
  uint64_t working_set_mib = 0;  // pages are picked among the first this many MiB; 0: all memory
};

class SimGuests {
 public:
  // Kernels reach xsd at <domain_socket_dir>/<domid>.
  SimGuests(SimHypervisor& sim, std::string domain_socket_dir, SimWorkload workload = {});
  ~SimGuests();
  // Boots kernels for domains already running (after a txend restart).
  void BootRunning();
  size_t running_kernels() const;
  bool kernel_running(uint32_t domid) const;

 private:
  void OnEvent(const SimEvent& e);
  void Boot(uint32_t domid);
  void Stop(uint32_t domid);
  void Worker();
  void Dirtier();  // the workload, on a thread of its own while the rate is not 0

  SimHypervisor& sim_;
  std::string socket_dir_;
  mutable std::mutex mu_;
  std::map<uint32_t, std::unique_ptr<SimGuestKernel>> kernels_;
  // Kernels are started and stopped on a worker thread: events arrive on
  // threads (a kernel's own watch thread among them) that must not join it.
  std::condition_variable cv_;
  std::deque<SimEvent> queue_;
  bool stopping_ = false;
  std::thread worker_;
  SimWorkload workload_;
  std::condition_variable stop_cv_;  // wakes the dirtier when stopping
  std::thread dirtier_;
  int subscription_ = 0;
};

}  // namespace txend::toolstack
