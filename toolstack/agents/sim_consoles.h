// SimConsoles: xenconsoled's part on the simulator. Each running simulated
// guest gets a pty whose master this object holds (non-blocking; output kept
// in a bounded buffer whose oldest bytes are dropped when nobody reads, as
// xenconsoled does) and whose slave path goes to /local/domain/<id>/console/tty,
// written as dom0. The guest's side is a SimConsoleShell. One thread waits on
// every master through one epoll set, so hundreds of domains cost one thread
// and a wake costs what is ready, not the number of consoles. A pty opens when the
// guest first runs (unpause, resume) and closes when the domain is gone.
#pragma once

#include <atomic>
#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "base/result.h"
#include "base/unique_fd.h"
#include "toolstack/agents/sim_console_shell.h"
#include "toolstack/hypervisor/sim/sim_hypervisor.h"
#include "toolstack/xs/connection.h"

namespace txend::toolstack {

// How much one console may hold and take at a time.
struct SimConsoleLimits {
  size_t output_bytes = 64 * 1024;  // guest output nobody has read yet; older bytes are dropped
  size_t line_bytes = 256;          // one typed line
  size_t read_bytes = 4096;         // input taken from one console per wake
};

class SimConsoles {
 public:
  // Connects to xenstore as dom0 at `xenstored_socket` and starts the poll thread.
  static Result<std::unique_ptr<SimConsoles>> Start(SimHypervisor& sim,
                                                    const std::string& xenstored_socket,
                                                    SimConsoleLimits limits = {});
  ~SimConsoles();
  // After a txend restart: a new pty for every running guest (the old masters
  // died with the old process), its path rewritten in xenstore.
  void OpenRunning();
  size_t open_consoles() const { return open_.load(); }

 private:
  enum class Why { kBoot, kResume, kReopen, kClose };
  struct Request {
    DomId domid;
    Why why;
  };
  struct Console;

  SimConsoles(SimHypervisor& sim, std::unique_ptr<xs::Connection> conn, SimConsoleLimits limits,
              UniqueFd wake, UniqueFd epoll);
  void OnEvent(const SimEvent& e);
  void Queue(Request r);
  void Loop();
  void Serve(const std::deque<Request>& requests);
  void Open(DomId domid, Why why);
  bool Pump(Console& c, bool readable);  // false: the guest asked to power off
  void Arm(DomId domid, Console& c);
  void Append(Console& c, const std::string& text) const;

  SimHypervisor& sim_;
  std::unique_ptr<xs::Connection> conn_;
  SimConsoleLimits limits_;
  UniqueFd wake_;   // eventfd: requests are waiting, or stop
  UniqueFd epoll_;  // wake_ and every console's master
  std::mutex mu_;
  std::deque<Request> requests_;
  bool stopping_ = false;
  std::set<DomId> restored_;  // built from a saved image, not yet booted; under mu_
  std::map<DomId, std::unique_ptr<Console>> consoles_;  // poll thread only
  std::atomic<size_t> open_{0};
  int subscription_ = 0;
  std::thread thread_;
};

}  // namespace txend::toolstack
