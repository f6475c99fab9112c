#include "toolstack/agents/sim_backends.h"

#include <vector>

#include "toolstack/layout/xenstore_layout.h"
#include "toolstack/xs/plain.h"

namespace txend::toolstack {
namespace {

constexpr const char* kRoot = kBackendRoot;

// Plain (non-transactional) requests, as a kernel's xenbus driver makes them.
Result<std::string> Read(xs::Connection& c, const std::string& path) {
  return xs::PlainRead(c, path);
}
void Write(xs::Connection& c, const std::string& path, const std::string& value) {
  (void)xs::PlainWrite(c, path, value);
}
int State(xs::Connection& c, const std::string& path) {
  auto v = Read(c, path);
  return v.ok() ? std::atoi(v->c_str()) : -1;
}

bool HasHotplugScript(const std::string& dir) {
  return dir.find("/backend/vbd/") != std::string::npos ||
         dir.find("/backend/vif/") != std::string::npos ||
         dir.find("/backend/tap/") != std::string::npos;
}

}  // namespace

Result<std::unique_ptr<SimBackends>> SimBackends::Start(const std::string& xenstored_socket) {
  TXEND_ASSIGN_OR_RETURN(auto conn, xs::Connection::Open(xenstored_socket));
  std::unique_ptr<SimBackends> b(new SimBackends(std::move(conn)));
  SimBackends* raw = b.get();
  TXEND_ASSIGN_OR_RETURN(
      xs::Watch w, b->conn_->AddWatch(kRoot, [raw](const std::string& path, const std::string&) {
        raw->OnBackendEvent(path);
      }));
  b->root_watch_.emplace(std::move(w));
  return b;
}

SimBackends::~SimBackends() {
  root_watch_.reset();
  std::map<std::string, xs::Watch> devices;
  {
    std::lock_guard lock(mu_);
    devices.swap(devices_);
  }
  devices.clear();  // outside the lock: a callback in flight may want it
}

void SimBackends::OnBackendEvent(const std::string& path) {
  std::string dir = BackendDeviceDir(path);
  std::vector<std::string> check;
  {
    std::lock_guard lock(mu_);
    if (!dir.empty() && !devices_.count(dir)) {
      check.push_back(dir);  // possibly a new device
    } else {
      // A removal names the removed directory: check every device below it.
      for (const auto& [known, w] : devices_)
        if (known == dir || known.starts_with(path + "/") || known == path) check.push_back(known);
    }
  }
  for (const auto& d : check) Step(d);
}

void SimBackends::OnFrontendEvent(const std::string& backend) { Step(backend); }

// Moves one backend along the handshake from what xenstore says now.
void SimBackends::Step(const std::string& dir) {
  int state = State(*conn_, dir + "/state");
  if (state < 0) {  // removed: forget it
    std::optional<xs::Watch> gone;
    std::lock_guard lock(mu_);
    if (auto it = devices_.find(dir); it != devices_.end()) {
      gone.emplace(std::move(it->second));
      devices_.erase(it);
    }
    return;
  }
  bool is_new;
  {
    std::lock_guard lock(mu_);
    is_new = !devices_.count(dir);
  }
  if (is_new) {
    auto frontend = Read(*conn_, dir + "/frontend");
    if (!frontend.ok()) return;  // still being written
    auto w = conn_->AddWatch(
        *frontend + "/state",
        [this, dir](const std::string&, const std::string&) { OnFrontendEvent(dir); });
    if (!w.ok()) return;
    {
      std::lock_guard lock(mu_);
      if (devices_.count(dir)) return;
      devices_.emplace(dir, std::move(*w));
    }
    if (HasHotplugScript(dir)) Write(*conn_, dir + "/hotplug-status", "connected");
    if (state <= 1) Write(*conn_, dir + "/state", "2");  // InitWait
    return;
  }
  auto frontend = Read(*conn_, dir + "/frontend");
  int fe = frontend.ok() ? State(*conn_, *frontend + "/state") : -1;
  auto online = Read(*conn_, dir + "/online");
  bool offline = online.ok() && *online == "0";
  int target = state;
  if (offline || fe == 5 || fe == 6 || fe < 0)
    target = fe == 6 || fe < 0 ? 6 : 5;  // Closing, then Closed once the frontend is
  else if ((fe == 3 || fe == 4) && state == 2)
    target = 4;  // Connected
  if (target != state) Write(*conn_, dir + "/state", std::to_string(target));
}

}  // namespace txend::toolstack
