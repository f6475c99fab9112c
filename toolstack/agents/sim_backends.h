// SimBackends: dom0's simulated device backends (blkback, netback, the vfb
// and vkbd backends) together with their hotplug scripts. Like the real
// kernel drivers they speak plain xenstore requests, not transactions:
// a new backend directory gets hotplug-status=connected and InitWait; the
// backend goes Connected when its frontend is Initialised, and Closed when the
// frontend closes or the backend is taken offline.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "base/result.h"
#include "toolstack/xs/connection.h"

namespace txend::toolstack {

class SimBackends {
 public:
  // Connects to xenstore as dom0 at `xenstored_socket` and starts watching.
  static Result<std::unique_ptr<SimBackends>> Start(const std::string& xenstored_socket);
  ~SimBackends();

 private:
  explicit SimBackends(std::unique_ptr<xs::Connection> conn) : conn_(std::move(conn)) {}
  void OnBackendEvent(const std::string& path);
  void OnFrontendEvent(const std::string& backend);
  void Step(const std::string& backend);

  std::unique_ptr<xs::Connection> conn_;
  std::mutex mu_;
  std::map<std::string, xs::Watch> devices_;  // backend dir -> watch on its frontend's state
  bool stopping_ = false;  // under mu_: the destructor has begun; no device is added again
  std::optional<xs::Watch> root_watch_;
};

}  // namespace txend::toolstack
