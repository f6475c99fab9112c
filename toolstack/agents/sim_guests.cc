#include "toolstack/agents/sim_guests.h"

#include <chrono>
#include <mutex>
#include <vector>

#include "base/numbers.h"
#include "toolstack/agents/device_state.h"
#include "toolstack/xs/plain.h"

namespace txend::toolstack {
namespace {

using wire::MsgType;

Result<std::string> Read(xs::Connection& c, const std::string& path) {
  return xs::PlainRead(c, path);
}
void Write(xs::Connection& c, const std::string& path, const std::string& value) {
  (void)xs::PlainWrite(c, path, value);
}
std::vector<std::string> List(xs::Connection& c, const std::string& path) {
  auto r = c.Call(MsgType::kDirectory, 0, wire::JoinFields({path}));
  std::vector<std::string> out;
  if (r.ok())
    for (auto f : wire::SplitFields(*r)) out.emplace_back(f);
  return out;
}

}  // namespace

// One guest's kernel: reacts to every change of its domain by looking at all
// it cares about (idempotent, so missed or spurious events do no harm).
class SimGuestKernel {
 public:
  static std::unique_ptr<SimGuestKernel> Boot(SimHypervisor& sim, uint32_t domid,
                                              const std::string& socket) {
    auto conn = xs::Connection::Open(socket);
    if (!conn.ok()) return nullptr;
    // An idle guest: its vcpus wait for events (xm list shows -b----).
    auto info = sim.GetDomainInfo(domid);
    for (uint32_t v = 0; info.ok() && v < info->MaxVcpus(); ++v)
      (void)sim.GuestSetVcpuBlocked(domid, v, true);
    std::unique_ptr<SimGuestKernel> k(new SimGuestKernel(sim, domid, std::move(*conn)));
    SimGuestKernel* raw = k.get();
    // Relative paths: below /local/domain/<domid>, as a guest sees them.
    for (const char* path : {"control/shutdown", "memory/target", "cpu", "device"}) {
      auto w =
          k->conn_->AddWatch(path, [raw](const std::string&, const std::string&) { raw->Look(); });
      if (w.ok()) k->watches_.push_back(std::move(*w));
    }
    return k;
  }
  ~SimGuestKernel() {
    {
      std::lock_guard lock(look_mu_);  // waits for a Look in progress
      stopped_ = true;
    }
    watches_.clear();
    backend_watches_.clear();
  }

 private:
  SimGuestKernel(SimHypervisor& sim, uint32_t domid, std::unique_ptr<xs::Connection> conn)
      : sim_(sim), domid_(domid), conn_(std::move(conn)) {}

  void Look() {
    std::lock_guard lock(look_mu_);
    if (done_ || stopped_) return;
    auto info = sim_.GetDomainInfo(domid_);
    if (!info.ok() || info->paused || info->shutdown || info->crashed)
      return;  // a paused kernel does nothing
    Shutdown();
    if (done_) return;
    Balloon();
    Vcpus();
    Frontends();
  }

  void Shutdown() {
    auto request = Read(*conn_, "control/shutdown");
    if (!request.ok() || request->empty()) return;
    std::string r = *request;
    ShutdownReason reason = r == "reboot"    ? ShutdownReason::kReboot
                            : r == "suspend" ? ShutdownReason::kSuspend
                            : r == "crash"   ? ShutdownReason::kCrash
                                             : ShutdownReason::kPoweroff;
    if (r != "poweroff" && r != "halt" && r != "reboot" && r != "suspend" && r != "crash") return;
    Write(*conn_, "control/shutdown", "");  // acknowledge, as Linux does
    done_ = true;
    (void)sim_.GuestShutdown(domid_, reason);
  }

  void Balloon() {
    auto target = Read(*conn_, "memory/target");
    if (!target.ok()) return;
    if (auto kib = ParseInteger<uint64_t>(*target); kib.ok())
      (void)sim_.GuestSetMemory(domid_, *kib);
  }

  void Vcpus() {
    for (const auto& n : List(*conn_, "cpu")) {
      auto vcpu = ParseInteger<uint32_t>(n);  // a kernel knows its vcpus by number
      auto avail = Read(*conn_, "cpu/" + n + "/availability");
      if (vcpu.ok() && avail.ok()) (void)sim_.GuestSetVcpuOnline(domid_, *vcpu, *avail == "online");
    }
  }

  // Brings every frontend along: Initialised once its backend waits, Connected
  // once the backend is, Closed when the backend closes.
  void Frontends() {
    for (const auto& type : List(*conn_, "device")) {
      for (const auto& id : List(*conn_, "device/" + type)) {
        auto devid = ParseInteger<uint64_t>(id);  // a kernel probes devices by number
        if (devid.ok()) Frontend("device/" + type + "/" + id, *devid);
      }
    }
  }

  // One frontend's next step, from its state and its backend's.
  void Frontend(const std::string& fe, uint64_t devid) {
    using S = XenbusState;
    auto state = ReadDeviceState(*conn_, fe + "/state");
    auto backend = Read(*conn_, fe + "/backend");
    if (!state || !backend.ok()) return;
    WatchBackend(*backend);
    auto be = ReadDeviceState(*conn_, *backend + "/state");
    if (*state == S::kInitialising && be == S::kInitWait) {
      Write(*conn_, fe + "/ring-ref", std::to_string(8 + domid_));
      Write(*conn_, fe + "/event-channel", std::to_string(10 + devid % 100));
      Write(*conn_, fe + "/state", ToNode(S::kInitialised));
    } else if (*state == S::kInitialised && be == S::kConnected) {
      Write(*conn_, fe + "/state", ToNode(S::kConnected));
    } else if ((be == S::kClosing || be == S::kClosed) && *state != S::kClosed) {
      Write(*conn_, fe + "/state", ToNode(S::kClosed));
    }
  }

  void WatchBackend(const std::string& backend) {
    if (backend_watches_.count(backend)) return;
    auto w = conn_->AddWatch(backend + "/state",
                             [this](const std::string&, const std::string&) { Look(); });
    if (w.ok()) backend_watches_.emplace(backend, std::move(*w));
  }

  SimHypervisor& sim_;
  uint32_t domid_;
  std::unique_ptr<xs::Connection> conn_;
  std::vector<xs::Watch> watches_;
  std::map<std::string, xs::Watch> backend_watches_;
  std::mutex look_mu_;
  bool done_ = false;     // the kernel shut itself down
  bool stopped_ = false;  // being destroyed
};

SimGuests::SimGuests(SimHypervisor& sim, std::string domain_socket_dir, SimWorkload workload)
    : sim_(sim), socket_dir_(std::move(domain_socket_dir)), workload_(workload) {
  worker_ = std::thread([this] { Worker(); });
  if (workload_.dirty_mib_per_s > 0) dirtier_ = std::thread([this] { Dirtier(); });
  subscription_ = sim_.Subscribe([this](const SimEvent& e) { OnEvent(e); });
}

SimGuests::~SimGuests() {
  sim_.Unsubscribe(subscription_);
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    cv_.notify_one();
    stop_cv_.notify_all();
  }
  worker_.join();
  if (dirtier_.joinable()) dirtier_.join();
  std::lock_guard lock(mu_);
  kernels_.clear();
}

void SimGuests::OnEvent(const SimEvent& e) {
  std::lock_guard lock(mu_);
  if (stopping_) return;
  queue_.push_back(e);
  cv_.notify_one();
}

void SimGuests::BootRunning() {
  auto domains = sim_.ListDomains();
  if (!domains.ok()) return;
  for (const auto& d : *domains)
    if (d.domid != 0 && !d.paused && !d.shutdown && !d.crashed) {
      SimEvent e;
      e.kind = SimEvent::Kind::kUnpaused;
      e.domid = d.domid;
      OnEvent(e);
    }
}

size_t SimGuests::running_kernels() const {
  std::lock_guard lock(mu_);
  return kernels_.size();
}

bool SimGuests::kernel_running(uint32_t domid) const {
  std::lock_guard lock(mu_);
  return kernels_.count(domid) != 0;
}

void SimGuests::Worker() {
  while (true) {
    SimEvent e;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      e = queue_.front();
      queue_.pop_front();
    }
    if (e.kind == SimEvent::Kind::kUnpaused || e.kind == SimEvent::Kind::kResumed) Boot(e.domid);
    if (e.kind == SimEvent::Kind::kShutdown || e.kind == SimEvent::Kind::kDying ||
        e.kind == SimEvent::Kind::kReleased)
      Stop(e.domid);
  }
}

// Every 10 ms, each running kernel's domain gets the pages due since the last
// tick (the hypervisor ignores domains that are paused or suspended).
void SimGuests::Dirtier() {
  constexpr auto kTick = std::chrono::milliseconds(10);
  const double pages_per_s = workload_.dirty_mib_per_s * 256;
  const uint64_t working_set = workload_.working_set_mib * 256;
  uint64_t salt = 0x3141592653ull;
  double owed = 0;
  auto last = std::chrono::steady_clock::now();
  std::unique_lock lock(mu_);
  while (!stop_cv_.wait_for(lock, kTick, [&] { return stopping_; })) {
    auto now = std::chrono::steady_clock::now();
    owed += pages_per_s * std::chrono::duration<double>(now - last).count();
    last = now;
    auto count = static_cast<uint64_t>(owed);
    owed -= static_cast<double>(count);
    std::vector<uint32_t> domids;
    for (const auto& [domid, kernel] : kernels_) domids.push_back(domid);
    lock.unlock();
    for (uint32_t domid : domids)
      (void)sim_.GuestDirtyPages(domid, count, working_set, salt += 0x9E3779B9);
    lock.lock();
  }
}

void SimGuests::Boot(uint32_t domid) {
  {
    std::lock_guard lock(mu_);
    if (kernels_.count(domid)) return;
  }
  auto kernel = SimGuestKernel::Boot(sim_, domid, socket_dir_ + "/" + std::to_string(domid));
  if (!kernel) return;  // not introduced (yet): nothing to talk to
  std::lock_guard lock(mu_);
  kernels_.emplace(domid, std::move(kernel));
}

void SimGuests::Stop(uint32_t domid) {
  std::unique_ptr<SimGuestKernel> kernel;
  {
    std::lock_guard lock(mu_);
    auto it = kernels_.find(domid);
    if (it == kernels_.end()) return;
    kernel = std::move(it->second);
    kernels_.erase(it);
  }
  // Destroyed outside the lock: its connection closes and xsd fires @releaseDomain.
}

}  // namespace txend::toolstack
