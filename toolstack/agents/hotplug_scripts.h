// HotplugScripts: on a real dom0, what udev's xen-backend rules did for xend —
// runs Xen's hotplug script for each backend device the dom0 kernel brings up
// (vbd: `block add`, vif: `vif-bridge online`, once the backend is in InitWait)
// and the matching `remove`/`offline` when it closes or its directory goes.
// The scripts report through the backend's hotplug-status node, which device
// creation waits for. On the simulator, SimBackends plays this part.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "base/result.h"
#include "toolstack/xs/connection.h"

namespace txend::toolstack {

class HotplugScripts {
 public:
  // Watches dom0's backends at `xenstored_socket`; scripts are found in `scripts_dir`.
  static Result<std::unique_ptr<HotplugScripts>> Start(
      const std::string& xenstored_socket, std::string scripts_dir = "/etc/xen/scripts");
  ~HotplugScripts();

 private:
  HotplugScripts(std::unique_ptr<xs::Connection> conn, std::string socket, std::string scripts_dir);
  void Enqueue(const std::string& device_dir);
  void Worker();
  void Step(const std::string& device_dir);
  // Runs the device's script with `command`; false if it could not run or failed.
  bool Run(const std::string& device_dir, const std::string& command);

  std::unique_ptr<xs::Connection> conn_;
  std::string socket_, scripts_dir_;
  std::optional<xs::Watch> watch_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  bool stopping_ = false;
  std::set<std::string> added_;  // devices whose add/online ran (worker thread only)
  std::thread worker_;
};

}  // namespace txend::toolstack
