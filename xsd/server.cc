#include "xsd/server.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <set>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <vector>

#include "base/unique_fd.h"
#include "xsd/published_generation.h"
#include "xsd/rate_limiter.h"
#include "xsd/socket_channel.h"

namespace txend::xsd {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kReadChunk = 65536;
constexpr size_t kDom0Backlog = 1 << 20;  // dom0 stops being read past this much queued output
// A guest's connection gets this many requests handled per loop round, so a
// dom0 request never waits behind more than one from each guest connection.
constexpr size_t kGuestQuantum = 1;
constexpr size_t kAcceptsPerRound = 16;  // per listener, so a connect flood cannot hog a round
constexpr auto kAcceptPause = std::chrono::milliseconds(100);  // out of fds: try again after
constexpr auto kFdWarningEvery = std::chrono::seconds(10);

// One connected client: its channel (socket or ring) and what is in flight on it.
struct Client {
  std::unique_ptr<Channel> channel;
  ConnId conn = 0;
  uint32_t domid = 0;
  wire::MessageReader reader;
  std::string out;
  size_t out_pos = 0;
  std::deque<size_t> reply_ends;  // offsets in `out` where queued replies end
  bool reading = true;            // EPOLLIN armed
  bool writing = false;           // EPOLLOUT armed
  bool closing = false;
  bool eof = false;
  bool dirty = false;      // listed in Impl::dirty
  bool runnable = false;   // listed in Impl::runnable
  bool throttled = false;  // its domain's request rate is used up; listed in Impl::throttled
  size_t accounted = 0;    // its queued output as counted in its domain's total
};

bool OutOfDescriptors(int code) {
  return code == EMFILE || code == ENFILE || code == ENOBUFS || code == ENOMEM;
}

Result<UniqueFd> Listen(const std::string& path) {
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path)
    return Status::Error(EINVAL, "socket path too long: " + path);
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return Status::Error(errno, "socket: " + std::string(strerror(errno)));
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  unlink(path.c_str());
  mode_t old = umask(0177);
  int rc = bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  umask(old);
  if (rc != 0 || listen(fd.get(), 128) != 0) {
    int err = errno;
    return Status::Error(err, "cannot listen on " + path + ": " + strerror(err));
  }
  return fd;
}

// A printable, bounded rendering of a payload for the trace file.
std::string TraceText(const std::string& payload) {
  std::string out;
  for (char c : payload.substr(0, 256)) {
    if (c == '\0')
      out.push_back(' ');
    else if (c < 0x20 || c > 0x7e)
      out.push_back('.');
    else
      out.push_back(c);
  }
  return out;
}

}  // namespace

struct Server::Impl {
  ServerOptions opts;
  Xenstore& store;
  // A listening socket and the domain whose clients it accepts (0: the main socket).
  struct Listener {
    UniqueFd fd;
    uint32_t domid = 0;
  };
  UniqueFd epfd;       // every descriptor the loop waits on, dom0's sockets included
  UniqueFd dom0_epfd;  // dom0's sockets again, so a round can check them between guests' steps
  UniqueFd stop_fd;
  std::map<int, Listener> listeners;         // by listening fd
  std::map<uint32_t, int> domain_listeners;  // domid -> listening fd
  // Connected domains whose listening socket was closed when xsd ran out of
  // file descriptors; reopened when the domain's last connection closes.
  std::set<uint32_t> parked_listeners;
  std::map<ConnId, std::unique_ptr<Client>> clients;
  std::map<int, Client*> sockets;  // socket clients by fd
  std::vector<Client*> runnable;   // clients that may have work again (buffered requests, a ring)
  std::vector<Client*> dirty;      // clients with output to flush, or closing
  std::vector<Client*> flushing;   // the dirty clients FlushAndCloseDirty works through
  std::vector<ConnId> throttled;   // clients waiting for their domain's next request token
  FILE* trace = nullptr;
  std::unique_ptr<RingTransport> rings;             // null: sockets only
  std::unique_ptr<PublishedGeneration> generation;  // null: none could be written
  // What each unprivileged domain uses across its connections.
  std::map<uint32_t, size_t> domain_connections;
  std::map<uint32_t, size_t> domain_queued;  // bytes of output queued
  RateLimiter limiter;
  Outbox outbox;                                   // Process's, reused request to request
  Clock::time_point now = Clock::now();            // this loop round's time
  std::optional<Clock::time_point> accept_resume;  // out of fds: listeners off until then
  std::optional<Clock::time_point> last_fd_warning;
  std::optional<Clock::time_point> last_park_warning;

  Impl(ServerOptions o, Xenstore& s, std::unique_ptr<RingTransport> r)
      : opts(std::move(o)), store(s), rings(std::move(r)), limiter(s.quota()) {}
  ~Impl();

  // Applies an epoll_ctl operation for `c`'s socket to epfd and, for dom0, dom0_epfd.
  void Control(const Client& c, int op, int fd, epoll_event* ev);
  void Arm(Client& c);
  bool Dom0Waiting();
  void Accept(int listener_fd, uint32_t domid);
  void PauseAccepting();
  void ResumeAccepting();
  bool Admits(Client& c);
  void WakeThrottled();
  void MakeRunnable(Client& c) {
    if (!c.runnable) runnable.push_back(&c);
    c.runnable = true;
  }
  void Account(Client& c);
  void DropHeaviest(uint32_t domid);
  int Timeout();
  void OnSocket(Client& c, uint32_t events);
  void OnEvent(const epoll_event& ev);
  void AddListener(UniqueFd fd, uint32_t domid);
  Client& Add(ConnId conn, uint32_t domid, std::unique_ptr<Channel> channel);
  void ReadFrom(Client& c);
  void Process(Client& c);
  void Resume(Client& c);
  void OpenRing(const Introduction& domain);
  void OpenDom0Ring();
  void OnRings();
  void CheckDomains();
  void Deliver(Outbox& out);
  void Flush(Client& c);
  void Close(Client& c);
  bool Paused(const Client& c) const;
  Status OpenDomainSocket(uint32_t domid);
  Status ListenForDomain(uint32_t domid);
  bool RoomFor(size_t n) const;
  size_t ParkConnectedListeners();
  std::map<uint32_t, int>::iterator CloseDomainListener(std::map<uint32_t, int>::iterator it);
  std::string DomainSocketPath(uint32_t domid) const {
    return opts.domain_socket_dir + "/" + std::to_string(domid);
  }
  void CloseDomain(uint32_t domid);
  void Trace(const char* dir, const Client& c, const std::string& bytes);
  void MarkDirty(Client& c) {
    if (!c.dirty) dirty.push_back(&c);
    c.dirty = true;
  }
  void FlushAndCloseDirty();
};

Server::Impl::~Impl() {
  store.set_open_domain(nullptr);
  clients.clear();
  listeners.clear();
  if (!opts.socket_path.empty()) unlink(opts.socket_path.c_str());
  for (auto& [domid, fd] : domain_listeners) unlink(DomainSocketPath(domid).c_str());
  epfd.reset();
  stop_fd.reset();
  if (trace) fclose(trace);
}

void Server::Impl::Arm(Client& c) {
  int fd = c.channel->fd();
  if (fd < 0) return;
  epoll_event ev{};
  // Not reading: no EPOLLRDHUP either, or a half-closed peer would wake us every round.
  ev.events =
      (c.reading ? uint32_t{EPOLLIN | EPOLLRDHUP} : 0u) | (c.writing ? uint32_t{EPOLLOUT} : 0u);
  ev.data.fd = fd;
  Control(c, EPOLL_CTL_MOD, fd, &ev);
}

void Server::Impl::Control(const Client& c, int op, int fd, epoll_event* ev) {
  epoll_ctl(epfd.get(), op, fd, ev);
  if (c.domid == 0) epoll_ctl(dom0_epfd.get(), op, fd, ev);
}

// True when a dom0 client sent something (not when it merely may be written).
bool Server::Impl::Dom0Waiting() {
  epoll_event events[64];
  int n = epoll_wait(dom0_epfd.get(), events, 64, 0);
  for (int i = 0; i < n; ++i)
    if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) return true;
  return false;
}

void Server::Impl::Accept(int listener_fd, uint32_t domid) {
  for (size_t i = 0; i < kAcceptsPerRound; ++i) {
    UniqueFd fd(accept4(listener_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd) {
      if (OutOfDescriptors(errno) && ParkConnectedListeners() == 0) PauseAccepting();
      return;
    }
    if (domid != 0 && domain_connections[domid] >= store.quota().connections) {
      ++store.counters().connections_refused;  // closed at once: the domain has enough
      continue;
    }
    Add(store.Connect(domid), domid, std::make_unique<SocketChannel>(std::move(fd)));
  }
}

// Out of file descriptors: a listening socket stays readable, so waiting on
// it would spin. Stop listening for a moment; clients wait in the backlog.
void Server::Impl::PauseAccepting() {
  for (const auto& [fd, listener] : listeners) {
    epoll_event ev{};
    ev.data.fd = fd;
    epoll_ctl(epfd.get(), EPOLL_CTL_MOD, fd, &ev);
  }
  accept_resume = now + kAcceptPause;
  ++store.counters().accept_pauses;
  if (!last_fd_warning || now - *last_fd_warning >= kFdWarningEvery) {
    fprintf(stderr, "xsd: out of file descriptors (%s): not accepting clients for %lld ms\n",
            strerror(errno), static_cast<long long>(kAcceptPause.count()));
    last_fd_warning = now;
  }
}

void Server::Impl::ResumeAccepting() {
  for (const auto& [fd, listener] : listeners) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    epoll_ctl(epfd.get(), EPOLL_CTL_MOD, fd, &ev);
  }
  accept_resume.reset();
}

Client& Server::Impl::Add(ConnId conn, uint32_t domid, std::unique_ptr<Channel> channel) {
  auto c = std::make_unique<Client>();
  c->channel = std::move(channel);
  c->conn = conn;
  c->domid = domid;
  if (domid != 0) {
    store.DomainConnected(domid);
    ++domain_connections[domid];
  }
  if (int fd = c->channel->fd(); fd >= 0) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.fd = fd;
    Control(*c, EPOLL_CTL_ADD, fd, &ev);
    sockets[fd] = c.get();
  }
  return *(clients[conn] = std::move(c));
}

bool Server::Impl::Paused(const Client& c) const {
  if (c.domid == 0) return c.out.size() - c.out_pos > kDom0Backlog;
  return c.reply_ends.size() >= store.quota().outstanding;
}

void Server::Impl::ReadFrom(Client& c) {
  char buf[kReadChunk];
  ssize_t n = c.channel->Read(buf, sizeof buf);
  if (n > 0)
    c.reader.Feed(std::string_view(buf, static_cast<size_t>(n)));
  else if (n < 0)
    c.eof = true;
  Process(c);
  if (!c.reader.error().ok()) {  // oversized message: the stock daemons kill the connection
    store.CountDroppedConnection();
    c.closing = true;
  }
  if (c.eof) c.closing = true;
  if (c.closing) MarkDirty(c);
}

// A guest whose domain has used up its request rate waits, unread, until its
// next token (WakeThrottled); dom0 is never held back.
bool Server::Impl::Admits(Client& c) {
  if (limiter.Allows(c.domid, now)) return true;
  if (!c.throttled) {
    c.throttled = true;
    throttled.push_back(c.conn);
    ++store.counters().requests_throttled;
  }
  return false;
}

void Server::Impl::Process(Client& c) {
  size_t budget = c.domid == 0 ? SIZE_MAX : kGuestQuantum;
  bool more = false;     // its turn ended with requests perhaps left: it goes on next round
  Outbox& out = outbox;  // reused: its vectors keep their capacity
  while (!c.closing && !Paused(c) && Admits(c)) {
    if (budget == 0) {
      more = true;
      break;
    }
    auto msg = c.reader.Next();
    if (!msg) break;
    limiter.Take(c.domid, now);
    --budget;
    if (trace)
      Trace("IN ", c,
            wire::Encode(msg->type(), msg->header.req_id, msg->header.tx_id, msg->payload));
    store.Handle(c.conn, *msg, out);
    Deliver(out);
    out.Clear();
  }
  if (more) MakeRunnable(c);
  bool want_read = !Paused(c) && !c.eof && !c.throttled && !more;
  if (want_read != c.reading) {
    c.reading = want_read;
    Arm(c);
  }
  // With no commit awaiting the round's fdatasync the replies leave now, not
  // after the round's other clients were read. Reading a request wakes its
  // sender (the kernel reports the freed buffer space); a reply sent soon
  // after finds that client still awake, one sent at the round's end has to
  // wake it a second time.
  if (c.dirty && !c.closing && !store.unsynced()) Flush(c);
}

void Server::Impl::WakeThrottled() {
  std::vector<ConnId> waiting;
  for (ConnId conn : throttled) {
    auto it = clients.find(conn);
    if (it == clients.end() || it->second->closing) continue;
    Client& c = *it->second;
    if (!limiter.Allows(c.domid, now)) {
      waiting.push_back(conn);
      continue;
    }
    c.throttled = false;
    MakeRunnable(c);
  }
  throttled.swap(waiting);
}

// Keeps the domain's total of queued output up to date with `c`'s.
void Server::Impl::Account(Client& c) {
  size_t queued = c.closing ? 0 : c.out.size() - c.out_pos;
  if (c.domid != 0) {
    size_t& total = domain_queued[c.domid];
    total = total - c.accounted + queued;
    if (total == 0) domain_queued.erase(c.domid);
  }
  c.accounted = queued;
}

// A domain queueing more output than its quota across its connections (watch
// events it does not read) loses its fullest connections until it is below.
void Server::Impl::DropHeaviest(uint32_t domid) {
  while (domain_queued.count(domid) && domain_queued[domid] > store.quota().queued_bytes) {
    Client* heaviest = nullptr;
    for (auto& [conn, other] : clients)
      if (other->domid == domid && !other->closing &&
          (!heaviest || other->accounted > heaviest->accounted))
        heaviest = other.get();
    if (!heaviest) return;
    heaviest->closing = true;
    store.CountDroppedConnection();
    MarkDirty(*heaviest);
    Account(*heaviest);
  }
}

void Server::Impl::Deliver(Outbox& out) {
  for (auto& [conn, bytes] : out.messages) {
    auto it = clients.find(conn);
    if (it == clients.end() || it->second->closing) continue;
    Client& c = *it->second;
    if (trace) Trace("OUT", c, bytes);
    wire::Header h;
    std::memcpy(&h, bytes.data(), sizeof h);
    c.out.append(bytes);
    MarkDirty(c);
    if (h.type != static_cast<uint32_t>(wire::MsgType::kWatchEvent))
      c.reply_ends.push_back(c.out.size());
    if (c.out.size() - c.out_pos > opts.max_output_bytes) {  // not reading its events: drop it
      store.CountDroppedConnection();
      c.closing = true;
    }
    Account(c);
    if (c.domid != 0) DropHeaviest(c.domid);
  }
  if (rings)
    for (const Introduction& domain : out.introduced) OpenRing(domain);
  for (uint32_t domid : out.released) CloseDomain(domid);
}

void Server::Impl::Flush(Client& c) {
  if (generation) generation->Publish(store.write_generation());  // before any reply leaves
  while (c.out_pos < c.out.size()) {
    ssize_t n = c.channel->Write(c.out.data() + c.out_pos, c.out.size() - c.out_pos);
    if (n < 0) {
      c.closing = true;
      return;
    }
    if (n == 0) break;
    c.out_pos += static_cast<size_t>(n);
  }
  while (!c.reply_ends.empty() && c.reply_ends.front() <= c.out_pos) c.reply_ends.pop_front();
  if (c.out_pos == c.out.size()) {
    c.out.clear();
    c.out_pos = 0;
  } else if (c.out_pos > kReadChunk) {
    c.out.erase(0, c.out_pos);
    for (auto& end : c.reply_ends) end -= c.out_pos;
    c.out_pos = 0;
  }
  Account(c);
  bool want_write = c.out_pos < c.out.size();
  if (want_write != c.writing) {
    c.writing = want_write;
    Arm(c);
  }
  if (!c.reading && !Paused(c) && !c.eof && !c.throttled) MakeRunnable(c);
}

void Server::Impl::Close(Client& c) {
  uint32_t domid = c.domid;
  ConnId conn = c.conn;
  if (int fd = c.channel->fd(); fd >= 0) {
    Control(c, EPOLL_CTL_DEL, fd, nullptr);
    sockets.erase(fd);
  }
  store.Disconnect(conn);
  std::erase(runnable, &c);
  std::erase(dirty, &c);
  c.closing = true;
  Account(c);
  clients.erase(conn);  // closes the channel
  if (domid == 0) return;
  if (--domain_connections[domid] == 0) {
    domain_connections.erase(domid);
    if (parked_listeners.count(domid)) {
      Status st = ListenForDomain(domid);
      if (!st.ok()) fprintf(stderr, "xsd: domain %u: %s\n", domid, st.ToString().c_str());
    }
  }
  for (auto& [id, other] : clients)
    if (other->domid == domid) return;
  // The last channel to an introduced domain closed: like a dead ring.
  Outbox out;
  store.DomainGone(domid, out);
  Deliver(out);
}

// A ring whose peer may have written while nobody read (new, or was paused):
// nothing will kick it again, so read it now.
void Server::Impl::Resume(Client& c) {
  if (c.channel->fd() < 0 && !Paused(c) && !c.eof)
    ReadFrom(c);
  else
    Process(c);
}

// A re-INTRODUCE of a domain whose ring is served keeps that connection (its
// watches and transactions); one whose ring was dropped gets a new one.
void Server::Impl::OpenRing(const Introduction& domain) {
  for (auto& [conn, c] : clients)
    if (c->domid == domain.domid && c->channel->fd() < 0 && !c->closing) return;
  ConnId conn = store.Connect(domain.domid);
  auto channel = rings->Open(domain, conn);
  if (!channel.ok()) {
    store.Disconnect(conn);
    fprintf(stderr, "xsd: domain %u: %s\n", domain.domid, channel.status().ToString().c_str());
    return;
  }
  MakeRunnable(Add(conn, domain.domid, std::move(*channel)));
}

void Server::Impl::OpenDom0Ring() {
  ConnId conn = store.Connect(0);
  auto channel = rings->OpenDom0(conn);
  if (!channel.ok()) {
    store.Disconnect(conn);
    fprintf(stderr, "xsd: no dom0 ring: %s\n", channel.status().ToString().c_str());
    return;
  }
  MakeRunnable(Add(conn, 0, std::move(*channel)));
}

void Server::Impl::OnRings() {
  RingEvents ev = rings->Poll();
  for (ConnId conn : ev.kicked) {
    auto it = clients.find(conn);
    if (it == clients.end() || it->second->closing) continue;
    Client& c = *it->second;
    if (c.reading) ReadFrom(c);  // a paused client's requests wait in its ring
    MarkDirty(c);                // the peer may have made room for replies
  }
  if (ev.domains_changed) CheckDomains();
}

// Xen said some domain changed: a shut-down domain fires @releaseDomain once,
// a dead one is released (its ring closes).
void Server::Impl::CheckDomains() {
  Outbox out;
  for (uint32_t domid : store.IntroducedDomains()) {
    switch (rings->StateOf(domid)) {
      case DomainState::kRunning:
        break;
      case DomainState::kShutDown:
        store.DomainGone(domid, out);
        break;
      case DomainState::kDead:
        store.DomainDied(domid, out);
        break;
    }
  }
  Deliver(out);
}

// INTRODUCE's check: the domain's socket listens (or the domain is connected)
// before the domain counts as introduced. Out of descriptors, the listeners of
// connected domains make room; if that is not enough, INTRODUCE fails with
// ENOMEM, the wire's name for xsd running out of a resource.
Status Server::Impl::OpenDomainSocket(uint32_t domid) {
  if (domain_listeners.count(domid) || parked_listeners.count(domid)) return Status::Ok();
  // Room for its socket and for the connection it will accept.
  bool room = RoomFor(2) || (ParkConnectedListeners() > 0 && RoomFor(2));
  Status st = room ? ListenForDomain(domid)
                   : Status::Error(EMFILE, "no descriptors for its socket and connection");
  if (st.ok() || !OutOfDescriptors(st.code())) return st;
  fprintf(stderr, "xsd: cannot introduce domain %u: out of file descriptors (%s)\n", domid,
          st.message().c_str());
  return Status::Error(ENOMEM, "out of file descriptors for domain " + std::to_string(domid));
}

// True when `n` more descriptors can be opened now.
bool Server::Impl::RoomFor(size_t n) const {
  std::vector<UniqueFd> probes;
  for (size_t i = 0; i < n; ++i)
    if (!probes.emplace_back(fcntl(stop_fd.get(), F_DUPFD_CLOEXEC, 0))) return false;
  return true;
}

Status Server::Impl::ListenForDomain(uint32_t domid) {
  TXEND_ASSIGN_OR_RETURN(UniqueFd fd, Listen(DomainSocketPath(domid)));
  parked_listeners.erase(domid);
  domain_listeners[domid] = fd.get();
  AddListener(std::move(fd), domid);
  return Status::Ok();
}

// Closes the listening socket of every domain that has a connection (it keeps
// it, as a ring would); returns how many descriptors that freed.
size_t Server::Impl::ParkConnectedListeners() {
  size_t parked = 0;
  for (auto it = domain_listeners.begin(); it != domain_listeners.end();) {
    uint32_t domid = it->first;
    if (!domain_connections.count(domid)) {
      ++it;
      continue;
    }
    parked_listeners.insert(domid);
    it = CloseDomainListener(it);
    ++parked;
  }
  store.counters().listeners_parked += parked;
  if (parked > 0 && (!last_park_warning || now - *last_park_warning >= kFdWarningEvery)) {
    fprintf(stderr,
            "xsd: out of file descriptors: closing the listening sockets of connected domains "
            "(%zu now; reopened when their connections close)\n",
            parked);
    last_park_warning = now;
  }
  return parked;
}

// Stops listening on a domain's socket and removes it; returns the next entry.
std::map<uint32_t, int>::iterator Server::Impl::CloseDomainListener(
    std::map<uint32_t, int>::iterator it) {
  epoll_ctl(epfd.get(), EPOLL_CTL_DEL, it->second, nullptr);
  listeners.erase(it->second);  // closes it
  unlink(DomainSocketPath(it->first).c_str());
  return domain_listeners.erase(it);
}

void Server::Impl::AddListener(UniqueFd fd, uint32_t domid) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = fd.get();
  epoll_ctl(epfd.get(), EPOLL_CTL_ADD, fd.get(), &ev);
  int key = fd.get();
  listeners[key] = Listener{std::move(fd), domid};
}

void Server::Impl::CloseDomain(uint32_t domid) {
  if (auto it = domain_listeners.find(domid); it != domain_listeners.end()) CloseDomainListener(it);
  parked_listeners.erase(domid);
  limiter.Forget(domid);
  for (auto& [conn, c] : clients)
    if (c->domid == domid) {
      c->closing = true;
      MarkDirty(*c);
    }
}

void Server::Impl::Trace(const char* dir, const Client& c, const std::string& bytes) {
  wire::Header h;
  std::memcpy(&h, bytes.data(), sizeof h);
  fprintf(trace, "%s conn=%llu dom=%u %s req=%u tx=%u (%s)\n", dir,
          static_cast<unsigned long long>(c.conn), c.domid,
          std::string(wire::TypeName(h.type)).c_str(), h.req_id, h.tx_id,
          TraceText(bytes.substr(wire::kHeaderSize)).c_str());
  fflush(trace);
}

// Closing a domain's last client may queue @releaseDomain events for others,
// so flush and close until nothing is left dirty.
void Server::Impl::FlushAndCloseDirty() {
  while (!dirty.empty()) {
    flushing.swap(dirty);  // both keep their capacity: no allocation per round
    std::vector<Client*> to_close;
    for (Client* c : flushing) {
      c->dirty = false;
      if (!c->closing || c->eof) Flush(*c);  // a half-closed client still gets its replies
      if (c->closing) to_close.push_back(c);
    }
    flushing.clear();
    for (Client* c : to_close) Close(*c);
  }
}

Result<std::unique_ptr<Server>> Server::Create(ServerOptions options, Xenstore& store,
                                               std::unique_ptr<RingTransport> rings) {
  auto impl = std::make_unique<Impl>(std::move(options), store, std::move(rings));
  impl->epfd.reset(epoll_create1(EPOLL_CLOEXEC));
  impl->dom0_epfd.reset(epoll_create1(EPOLL_CLOEXEC));
  impl->stop_fd.reset(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!impl->epfd || !impl->dom0_epfd || !impl->stop_fd)
    return Status::Error(errno, "epoll/eventfd setup failed");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = impl->stop_fd.get();
  epoll_ctl(impl->epfd.get(), EPOLL_CTL_ADD, ev.data.fd, &ev);
  if (!impl->opts.trace_file.empty()) {
    impl->trace = fopen(impl->opts.trace_file.c_str(), "a");
    if (!impl->trace)
      return Status::Error(errno, "cannot open trace file " + impl->opts.trace_file);
  }
  // Published before the socket listens: a client that can connect finds it.
  auto generation = PublishedGeneration::Create(impl->opts.socket_path, store.write_generation());
  if (generation.ok())
    impl->generation = std::move(*generation);
  else  // clients then catch up with a round trip, as with a stock daemon
    fprintf(stderr, "xsd: %s\n", generation.status().ToString().c_str());
  TXEND_ASSIGN_OR_RETURN(UniqueFd fd, Listen(impl->opts.socket_path));
  impl->AddListener(std::move(fd), 0);
  if (!impl->opts.domain_socket_dir.empty()) {
    if (mkdir(impl->opts.domain_socket_dir.c_str(), 0700) != 0 && errno != EEXIST)
      return Status::Error(errno, "cannot create " + impl->opts.domain_socket_dir);
    Impl* s = impl.get();
    store.set_open_domain([s](uint32_t domid) { return s->OpenDomainSocket(domid); });
  }
  if (impl->rings) {
    ev.data.fd = impl->rings->fd();
    epoll_ctl(impl->epfd.get(), EPOLL_CTL_ADD, ev.data.fd, &ev);
    if (impl->opts.dom0_ring) impl->OpenDom0Ring();
  }
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() = default;

void Server::RequestStop() {
  uint64_t one = 1;
  ssize_t ignored = write(impl_->stop_fd.get(), &one, sizeof one);
  (void)ignored;
}

void Server::Impl::OnSocket(Client& c, uint32_t events) {
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) ReadFrom(c);
  if (events & EPOLLOUT) MarkDirty(c);
}

// A ring kick, a listener's new client or a guest's socket.
void Server::Impl::OnEvent(const epoll_event& ev) {
  int fd = ev.data.fd;
  if (rings && fd == rings->fd()) return OnRings();
  if (auto l = listeners.find(fd); l != listeners.end()) return Accept(fd, l->second.domid);
  if (auto it = sockets.find(fd); it != sockets.end()) OnSocket(*it->second, ev.events);
}

// How long the loop may sleep: until the next request token of a throttled
// client, the end of an accept pause or a transaction's deadline.
int Server::Impl::Timeout() {
  if (!runnable.empty()) return 0;
  auto deadline = store.NextTransactionDeadline();
  if (throttled.empty() && !accept_resume && !deadline) return -1;  // no clock read needed
  now = Clock::now();
  std::optional<Clock::time_point> wake = accept_resume;
  auto earliest = [&](Clock::time_point t) {
    if (!wake || t < *wake) wake = t;
  };
  for (ConnId conn : throttled)
    if (auto it = clients.find(conn); it != clients.end())
      earliest(limiter.NextToken(it->second->domid, now));
  if (deadline) earliest(*deadline);
  if (!wake) return -1;
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(*wake - now).count();
  return static_cast<int>(std::clamp<int64_t>(ms, 0, 60000));
}

Status Server::Run() {
  Impl& s = *impl_;
  epoll_event events[64];
  while (true) {
    int n = epoll_wait(s.epfd.get(), events, 64, s.Timeout());
    if (n < 0 && errno != EINTR) return Status::Error(errno, "epoll_wait failed");
    s.now = Clock::now();
    // dom0's clients first: a guest's request never delays one of dom0's in the same round.
    std::vector<epoll_event*> later;
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == s.stop_fd.get()) return Status::Ok();
      if (auto it = s.sockets.find(fd); it != s.sockets.end() && it->second->domid == 0)
        s.OnSocket(*it->second, events[i].events);
      else
        later.push_back(&events[i]);
    }
    // Then the guests' work, until dom0 sends again: then the round ends (after
    // at least one step, so guests always progress) and its reply goes out
    // behind one guest request instead of a whole round of them. What is left
    // waits for the next round (epoll reports it again; runnable stays so).
    size_t steps = 0;
    bool yielded = false;
    auto guest_turn = [&] {  // false once dom0 is waiting: the rest of the round is deferred
      if (!yielded && steps++ > 0) yielded = s.Dom0Waiting();
      return !yielded;
    };
    for (epoll_event* ev : later)
      if (guest_turn()) s.OnEvent(*ev);
    if (s.accept_resume && *s.accept_resume <= s.now) s.ResumeAccepting();
    s.WakeThrottled();
    s.store.ExpireTransactions();
    std::vector<Client*> runnable;
    runnable.swap(s.runnable);
    for (Client* c : runnable) c->runnable = false;
    for (Client* c : runnable) {
      if (c->domid == 0 || guest_turn())
        s.Resume(*c);
      else
        s.MakeRunnable(*c);
    }
    // Group commit: one fdatasync covers every commit of this round, before any reply leaves.
    Status synced = s.store.Sync();
    if (!synced.ok()) return synced;
    s.FlushAndCloseDirty();
  }
}

}  // namespace txend::xsd
