#include "toolstack/agents/sim_consoles.h"

#include <fcntl.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <vector>

#include "toolstack/layout/xenstore_layout.h"
#include "toolstack/xs/plain.h"

namespace txend::toolstack {
namespace {

constexpr int kPollBoundMs = 1000;
constexpr uint64_t kWakeKey = ~0ull;  // the epoll key of the wake eventfd; consoles use their domid

}  // namespace

// One guest's console: the pty (master and the slave held open, as
// xenconsoled does, so a client's leaving never hangs the master up), output
// not yet taken by the pty, and the guest's shell.
struct SimConsoles::Console {
  UniqueFd master, slave;
  std::string path;
  std::string pending;
  SimConsoleShell shell;
  bool polls_out = false;  // EPOLLOUT armed: `pending` waits for room in the pty
};

Result<std::unique_ptr<SimConsoles>> SimConsoles::Start(SimHypervisor& sim,
                                                        const std::string& xenstored_socket,
                                                        SimConsoleLimits limits) {
  TXEND_ASSIGN_OR_RETURN(auto conn, xs::Connection::Open(xenstored_socket));
  UniqueFd wake(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (wake.get() < 0) return Status::Error(errno, "eventfd for the consoles");
  UniqueFd epoll(epoll_create1(EPOLL_CLOEXEC));
  epoll_event ev{EPOLLIN, {.u64 = kWakeKey}};
  if (epoll.get() < 0 || epoll_ctl(epoll.get(), EPOLL_CTL_ADD, wake.get(), &ev) != 0)
    return Status::Error(errno, "epoll for the consoles");
  std::unique_ptr<SimConsoles> c(
      new SimConsoles(sim, std::move(conn), limits, std::move(wake), std::move(epoll)));
  return c;
}

SimConsoles::SimConsoles(SimHypervisor& sim, std::unique_ptr<xs::Connection> conn,
                         SimConsoleLimits limits, UniqueFd wake, UniqueFd epoll)
    : sim_(sim),
      conn_(std::move(conn)),
      limits_(limits),
      wake_(std::move(wake)),
      epoll_(std::move(epoll)) {
  thread_ = std::thread([this] { Loop(); });
  subscription_ = sim_.Subscribe([this](const SimEvent& e) { OnEvent(e); });
}

SimConsoles::~SimConsoles() {
  sim_.Unsubscribe(subscription_);
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  uint64_t one = 1;
  (void)!write(wake_.get(), &one, sizeof one);
  thread_.join();
}

void SimConsoles::OpenRunning() {
  auto domains = sim_.ListDomains();
  if (!domains.ok()) return;
  for (const auto& d : *domains)
    if (d.domid != 0 && !d.dying) Queue({d.domid, Why::kReopen});
}

void SimConsoles::OnEvent(const SimEvent& e) {
  using K = SimEvent::Kind;
  if (e.kind == K::kBuilt && e.restored) {
    std::lock_guard lock(mu_);
    restored_.insert(e.domid);
  }
  if (e.kind == K::kUnpaused) Queue({e.domid, Why::kBoot});
  if (e.kind == K::kResumed) Queue({e.domid, Why::kResume});
  if (e.kind == K::kDying || e.kind == K::kReleased) Queue({e.domid, Why::kClose});
}

void SimConsoles::Queue(Request r) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    requests_.push_back(r);
  }
  uint64_t one = 1;
  (void)!write(wake_.get(), &one, sizeof one);
}

void SimConsoles::Loop() {
  epoll_event events[64];
  while (true) {
    std::deque<Request> requests;
    {
      std::lock_guard lock(mu_);
      if (stopping_) break;
      requests.swap(requests_);
    }
    Serve(requests);
    int n = epoll_wait(epoll_.get(), events, 64, kPollBoundMs);
    if (n < 0 && errno != EINTR) break;
    std::vector<DomId> poweroff;
    for (int i = 0; i < n; ++i) {
      if (events[i].data.u64 == kWakeKey) {
        uint64_t count;
        (void)!read(wake_.get(), &count, sizeof count);
        continue;
      }
      auto domid = static_cast<DomId>(events[i].data.u64);
      auto it = consoles_.find(domid);
      if (it == consoles_.end()) continue;
      if (!Pump(*it->second, (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0))
        poweroff.push_back(domid);
      Arm(domid, *it->second);
    }
    // Outside every lock: the hypervisor's listeners (this object's among them) run on this thread.
    for (DomId domid : poweroff) (void)sim_.GuestShutdown(domid, ShutdownReason::kPoweroff);
  }
  consoles_.clear();
  open_ = 0;
}

// Watches the console's master for input, and for room while output waits.
void SimConsoles::Arm(DomId domid, Console& c) {
  bool out = !c.pending.empty();
  if (out == c.polls_out) return;
  epoll_event ev{EPOLLIN | (out ? EPOLLOUT : 0u), {.u64 = domid}};
  if (epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, c.master.get(), &ev) == 0) c.polls_out = out;
}

void SimConsoles::Serve(const std::deque<Request>& requests) {
  for (const Request& r : requests) {
    if (r.why == Why::kClose) {
      if (auto it = consoles_.find(r.domid); it != consoles_.end())
        epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, it->second->master.get(), nullptr);
      consoles_.erase(r.domid);
      std::lock_guard lock(mu_);
      restored_.erase(r.domid);
    } else if (!consoles_.count(r.domid) || r.why == Why::kReopen) {
      Open(r.domid, r.why);
    }
    open_ = consoles_.size();
  }
}

// A new pty for `domid`, announced in xenstore when the domain has a home
// there; a home removed meanwhile (the domain destroyed) is not brought back.
void SimConsoles::Open(DomId domid, Why why) {
  auto info = sim_.GetDomainInfo(domid);
  if (!info.ok() || info->dying) return;
  // Opened close-on-exec from the start: txend runs device models and bootloaders.
  UniqueFd master(posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK));
  char path[64];
  if (master.get() < 0 || grantpt(master.get()) != 0 || unlockpt(master.get()) != 0 ||
      ptsname_r(master.get(), path, sizeof path) != 0)
    return;
  UniqueFd slave(open(path, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK));
  if (slave.get() < 0) return;
  termios raw;
  if (tcgetattr(slave.get(), &raw) == 0) {
    cfmakeraw(&raw);
    tcsetattr(slave.get(), TCSANOW, &raw);
  }
  const std::string home = DomainHome(domid);
  auto name = xs::PlainRead(*conn_, home + "/name");
  if (!name.ok()) return;  // not a domain the toolstack has set up (or no more)
  if (!xs::PlainWrite(*conn_, home + "/console/tty", path).ok()) return;
  // Plain requests, as xenconsoled's (no transaction to count against a
  // create): a home removed between the read and the write was brought back
  // by the write alone, so it goes again.
  if (!xs::PlainRead(*conn_, home + "/name").ok()) {
    (void)conn_->Call(wire::MsgType::kRm, 0, wire::JoinFields({home}));
    return;
  }
  auto c = std::make_unique<Console>(Console{
      std::move(master), std::move(slave), path, "",
      SimConsoleShell({domid, *name, info->memory_kib, info->MaxVcpus()}, limits_.line_bytes)});
  bool restored;
  {
    std::lock_guard lock(mu_);
    restored = restored_.erase(domid) != 0;
  }
  Append(*c, why == Why::kReopen               ? c->shell.ReopenLog()
             : why == Why::kResume || restored ? c->shell.ResumeLog()
                                               : c->shell.BootLog());
  epoll_event ev{EPOLLIN, {.u64 = domid}};
  if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, c->master.get(), &ev) != 0) return;
  if (auto old = consoles_.find(domid);
      old != consoles_.end())  // reopened: the new one replaces it
    epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, old->second->master.get(), nullptr);
  Arm(domid, *c);
  consoles_[domid] = std::move(c);
}

// Moves bytes between one master and its guest; false when the guest powers off.
bool SimConsoles::Pump(Console& c, bool readable) {
  if (readable) {
    std::string buf(limits_.read_bytes, '\0');
    ssize_t n = read(c.master.get(), buf.data(), buf.size());
    if (n > 0) Append(c, c.shell.Input(std::string_view(buf.data(), static_cast<size_t>(n))));
  }
  if (!c.pending.empty()) {
    ssize_t n = write(c.master.get(), c.pending.data(), c.pending.size());
    if (n > 0) c.pending.erase(0, static_cast<size_t>(n));
  }
  return !c.shell.TakePoweroffRequest();
}

void SimConsoles::Append(Console& c, const std::string& text) const {
  c.pending += text;
  if (c.pending.size() > limits_.output_bytes)
    c.pending.erase(0, c.pending.size() - limits_.output_bytes);
}

}  // namespace txend::toolstack
