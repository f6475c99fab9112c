#include "toolstack/agents/sim_backends.h"

#include <vector>

#include "toolstack/agents/device_state.h"
#include "toolstack/layout/xenstore_layout.h"
#include "toolstack/xs/plain.h"
#include "toolstack/xs/transaction.h"

namespace txend::toolstack {
namespace {

constexpr const char* kRoot = kBackendRoot;

// Plain (non-transactional) requests, as a kernel's xenbus driver makes them.
Result<std::string> Read(xs::Connection& c, const std::string& path) {
  return xs::PlainRead(c, path);
}
// Writes `node` of a backend directory that is still there (as a kernel's
// xenbus_switch_state checks first). A plain write recreates a directory the
// toolstack removed between the check and the write (a domain destroyed
// mid-handshake): when the node is there but the frontend link is not, the
// directory is removed again, with its domain's directory if that is left
// empty — in a transaction, so a device written there anew since is left
// alone. (Usually the toolstack removes the device after the write, which
// recreated nothing: no transaction then.)
void WriteToBackend(xs::Connection& c, const std::string& dir, const std::string& node,
                    const std::string& value) {
  if (!xs::PlainRead(c, dir + "/frontend").ok()) return;  // removed: nothing to say
  (void)xs::PlainWrite(c, dir + "/" + node, value);
  if (xs::PlainRead(c, dir + "/frontend").ok()) return;
  if (!xs::PlainRead(c, dir + "/" + node).ok()) return;          // removed after the write
  const std::string domain_dir = dir.substr(0, dir.rfind('/'));  // <root>/<type>/<domid>
  (void)xs::RunTransaction(c, [&](xs::Transaction& tx) -> Status {
    TXEND_ASSIGN_OR_RETURN(auto frontend, tx.ReadIfExists(dir + "/frontend"));
    if (frontend) return Status::Ok();
    std::vector<std::string> gone = {dir};
    TXEND_RETURN_IF_ERROR(tx.RmMany(gone, true));
    TXEND_ASSIGN_OR_RETURN(auto others, tx.DirectoryIfExists(domain_dir));
    if (!others.empty()) return Status::Ok();
    gone = {domain_dir};
    return tx.RmMany(gone, true);
  });
}

// Where a backend goes from `state`, given its frontend's: Closing, then Closed
// once the frontend is; Connected once the frontend is ready.
XenbusState NextState(XenbusState state, XenbusState frontend, bool offline) {
  using S = XenbusState;
  if (frontend == S::kClosed) return S::kClosed;
  if (offline || frontend == S::kClosing) return S::kClosing;
  if ((frontend == S::kInitialised || frontend == S::kConnected) && state == S::kInitWait)
    return S::kConnected;
  return state;
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
    stopping_ = true;  // a frontend callback in flight must not add its device back
    devices.swap(devices_);
  }
  devices.clear();  // outside the lock: a callback in flight may want it
}

// An event at or below a device's directory concerns that device (new or known); one above
// them (a removal names the removed directory) every known device below it, found in order
// among the known ones, not by looking at each of them.
void SimBackends::OnBackendEvent(const std::string& path) {
  std::string dir = BackendDeviceDir(path);
  if (!dir.empty()) return Step(dir);
  std::vector<std::string> check;
  const std::string below = path + "/";
  {
    std::lock_guard lock(mu_);
    for (auto it = devices_.lower_bound(below);
         it != devices_.end() && it->first.starts_with(below); ++it)
      check.push_back(it->first);
  }
  for (const auto& d : check) Step(d);
}

void SimBackends::OnFrontendEvent(const std::string& backend) { Step(backend); }

// Moves one backend along the handshake from what xenstore says now.
void SimBackends::Step(const std::string& dir) {
  auto state = ReadDeviceState(*conn_, dir + "/state");
  if (!state) {  // removed: forget it
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
    if (stopping_) return;
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
      if (stopping_ || devices_.count(dir)) return;
      devices_.emplace(dir, std::move(*w));
    }
    if (HasHotplugScript(dir)) WriteToBackend(*conn_, dir, "hotplug-status", "connected");
    if (*state <= XenbusState::kInitialising)
      WriteToBackend(*conn_, dir, "state", ToNode(XenbusState::kInitWait));
    return;
  }
  auto frontend = Read(*conn_, dir + "/frontend");
  auto fe = frontend.ok() ? ReadDeviceState(*conn_, *frontend + "/state") : std::nullopt;
  auto online = Read(*conn_, dir + "/online");
  // A frontend that is gone counts as closed.
  XenbusState target =
      NextState(*state, fe.value_or(XenbusState::kClosed), online.ok() && *online == "0");
  if (target != *state) WriteToBackend(*conn_, dir, "state", ToNode(target));
}

}  // namespace txend::toolstack
