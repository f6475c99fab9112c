#include "tests/xsd/memory_rings.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <sys/eventfd.h>

namespace txend::xsd {

MemoryRings::MemoryRings() {
  if (pipe2(pipe_, O_NONBLOCK | O_CLOEXEC) != 0) pipe_[0] = pipe_[1] = -1;
}

MemoryRings::~MemoryRings() {
  for (int fd : pipe_) close(fd);
  for (auto& [mfn, g] : guests_) close(g->notified);
  if (dom0_) close(dom0_->notified);
}

MemoryRings::Guest& MemoryRings::AddGuest(uint32_t domid, uint64_t mfn, uint32_t port) {
  auto g = std::make_unique<Guest>();
  g->domid = domid;
  g->port = port;
  g->notified = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  std::lock_guard lock(mu_);
  return *(guests_[mfn] = std::move(g));
}

MemoryRings::Guest& MemoryRings::AddDom0(uint32_t port) {
  auto g = std::make_unique<Guest>();
  g->port = port;
  g->notified = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  std::lock_guard lock(mu_);
  dom0_ = std::move(g);
  return *dom0_;
}

void MemoryRings::Post(uint32_t port) {
  ssize_t n = write(pipe_[1], &port, sizeof port);
  (void)n;
}

void MemoryRings::Kick(const Guest& g) { Post(g.port); }

void MemoryRings::SetState(uint32_t domid, DomainState state) {
  {
    std::lock_guard lock(mu_);
    states_[domid] = state;
  }
  Post(kDomExc);
}

RingEvents MemoryRings::Poll() {
  RingEvents ev;
  uint32_t port;
  while (read(pipe_[0], &port, sizeof port) == sizeof port) {
    if (port == kDomExc) {
      ev.domains_changed = true;
      continue;
    }
    std::lock_guard lock(mu_);
    if (auto it = bound_.find(port); it != bound_.end()) ev.kicked.push_back(it->second);
  }
  return ev;
}

Result<std::unique_ptr<Channel>> MemoryRings::Bind(Guest& g, ConnId conn) {
  {
    std::lock_guard lock(mu_);
    bound_[g.port] = conn;
  }
  g.bound = true;
  int notified = g.notified;
  uint32_t port = g.port;
  auto notify = [notified] {
    uint64_t one = 1;
    ssize_t n = write(notified, &one, sizeof one);
    (void)n;
  };
  auto release = [this, &g, port] {
    std::lock_guard lock(mu_);
    bound_.erase(port);
    g.bound = false;
  };
  return std::unique_ptr<Channel>(std::make_unique<RingChannel>(&g.page, notify, release));
}

Result<std::unique_ptr<Channel>> MemoryRings::Open(const Introduction& domain, ConnId conn) {
  Guest* g = nullptr;
  {
    std::lock_guard lock(mu_);
    auto it = guests_.find(domain.mfn);
    if (it != guests_.end() && it->second->domid == domain.domid) g = it->second.get();
  }
  if (!g) return Status::Error(EFAULT, "no page at mfn " + std::to_string(domain.mfn));
  if (g->port != domain.port)
    return Status::Error(EINVAL, "no event channel " + std::to_string(domain.port));
  return Bind(*g, conn);
}

Result<std::unique_ptr<Channel>> MemoryRings::OpenDom0(ConnId conn) {
  Guest* g = nullptr;
  {
    std::lock_guard lock(mu_);
    g = dom0_.get();
  }
  if (!g) return Status::Error(ENOENT, "no dom0 ring");
  return Bind(*g, conn);
}

DomainState MemoryRings::StateOf(uint32_t domid) {
  std::lock_guard lock(mu_);
  auto it = states_.find(domid);
  return it == states_.end() ? DomainState::kRunning : it->second;
}

bool RingGuest::WaitForXsd() {
  pollfd p{g_.notified, POLLIN, 0};
  if (poll(&p, 1, 5000) != 1) return false;
  uint64_t count;
  ssize_t n = read(g_.notified, &count, sizeof count);
  (void)n;
  return true;
}

// Kicks as Linux's xenbus does: after a write only if xsd had taken everything
// before it, after a read only if the response ring was full.
bool RingGuest::Send(const std::string& bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    uint32_t prod = g_.page.req_prod;
    ssize_t n = ends_.out.Write(bytes.data() + sent, bytes.size() - sent);
    if (n < 0) return false;
    sent += static_cast<size_t>(n);
    if (n > 0 && prod == std::atomic_ref<uint32_t>(g_.page.req_cons).load()) rings_.Kick(g_);
    if (sent < bytes.size() && !WaitForXsd()) return false;
  }
  return true;
}

std::optional<wire::Message> RingGuest::Receive() {
  char buf[XENSTORE_RING_SIZE];
  while (true) {
    if (auto m = reader_.Next()) return m;
    bool full =
        std::atomic_ref<uint32_t>(g_.page.rsp_prod).load() - g_.page.rsp_cons == XENSTORE_RING_SIZE;
    ssize_t n = ends_.in.Read(buf, sizeof buf);
    if (n < 0) return std::nullopt;
    if (n > 0) {
      reader_.Feed(std::string_view(buf, static_cast<size_t>(n)));
      if (full) rings_.Kick(g_);  // room again for replies xsd holds back
      continue;
    }
    if (!WaitForXsd()) return std::nullopt;
  }
}

std::string RingGuest::Ask(wire::MsgType type, const std::string& payload, uint32_t tx) {
  uint32_t id = ++req_id_;
  if (!Send(wire::Encode(type, id, tx, payload))) return "(send failed)";
  while (auto m = Receive()) {
    if (m->type() == wire::MsgType::kWatchEvent) {
      events.push_back(m->payload);
      continue;
    }
    if (m->header.req_id != id) return "(wrong req_id)";
    if (m->type() == wire::MsgType::kError)
      return "ERR:" + m->payload.substr(0, m->payload.find('\0'));
    return m->payload;
  }
  return "(no reply)";
}

}  // namespace txend::xsd
