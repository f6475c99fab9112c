#include "toolstack/xs/connection.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <list>
#include <map>
#include <mutex>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <thread>

#include "base/mutex.h"
#include "base/unique_fd.h"
#include "wire/write_generation.h"

namespace txend::xs {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kDefaultSocket = "/run/xenstored/socket";
// What one read asks the socket for: a reply of a few bytes touches one page of it.
constexpr size_t kReadChunk = 16384;

// One registered watch's callback; `mu` is held while it runs so that
// unregistering waits for a callback in flight.
struct WatchEntry {
  std::mutex mu;
  bool active = true;
  WatchDelivery delivery = WatchDelivery::kEventThread;
  WatchCallback callback;
};

// The replies of one CallMany, filled by whichever thread reads them; the
// caller sleeps on `wake` (guarded by the connection's mutex) until the last
// is in or the read role is free for it to take.
struct ReplyBatch {
  ReplyBatch(Mutex* mu, size_t size) : replies(size, Status::Error(EIO, "no reply")), wake(mu) {}
  std::vector<Result<std::string>> replies;
  size_t remaining = 0;
  CondVar wake;
};

// A request waiting for its reply; `what` names it in error messages.
struct PendingReply {
  ReplyBatch* batch = nullptr;
  size_t index = 0;
  std::string what;
};

struct Event {
  std::string path;
  std::string token;
};

std::string StripNul(std::string s) {
  if (!s.empty() && s.back() == '\0') s.pop_back();
  return s;
}

// "READ /local/domain/3/name" — names the failed request in error messages.
std::string Describe(wire::MsgType type, std::string_view payload) {
  std::string d(wire::TypeName(static_cast<uint32_t>(type)));
  auto fields = wire::SplitFields(payload);
  if (!fields.empty() && !fields[0].empty()) d += " " + std::string(fields[0]);
  return d;
}

Result<UniqueFd> ConnectUnix(const std::string& path) {
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path)
    return Status::Error(EINVAL, "socket path too long: " + path);
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return Status::Error(errno, std::string("socket: ") + strerror(errno));
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    return Status::Error(err, "cannot connect to xenstore at " + path + ": " + strerror(err));
  }
  return fd;
}

}  // namespace

// Reading is a role one thread holds at a time (`reading`): a caller takes it
// when it is free and reads until its own reply is in; callers that find it
// taken sleep until their reply is filled or the role is handed to them. The
// connection's own thread takes it only when callers have been quiet for
// quiet_after, so under load every reply is read by the thread waiting for it.
struct Connection::Impl {
  UniqueFd fd;  // closed by ~Connection, once every thread is done with it
  std::string socket_path;
  std::chrono::milliseconds call_timeout{0};
  // The own thread reads the socket only once no call has been made for this long (3 ms by
  // default): while callers come, they read (and so hand over the watch events they meet);
  // this bounds how late an event is while they pause, and every hop of a watch-driven chain
  // (xm create's devices) may pay it. At 20 ms `xm create` took 47 ms instead of 14; at 1 ms
  // a sequential client's pauses let the own thread take the socket often (up to 2.1
  // switches per keep-alive request against 1.4-1.6 at 3 ms).
  std::chrono::milliseconds quiet_after{0};
  std::atomic<bool> alive{true};
  std::atomic<bool> closing{false};  // set by ~Connection: the close is ours
  std::atomic<uint32_t> next_req_id{1};
  std::atomic<uint64_t> next_token{1};

  std::mutex send_mu;  // keeps each batch's bytes contiguous on the wire

  Mutex mu;
  std::map<uint32_t, PendingReply> pending GUARDED_BY(mu);  // by req_id
  bool reading GUARDED_BY(mu) = false;
  std::thread::id reader_id GUARDED_BY(mu);       // who reads now
  std::list<ReplyBatch*> waiting GUARDED_BY(mu);  // callers asleep while another reads
  Clock::time_point last_call GUARDED_BY(mu);
  bool stopping GUARDED_BY(mu) = false;
  std::function<void()> on_closed GUARDED_BY(mu);
  CondVar own_wake{&mu};  // the own thread, resting while callers read

  // Only the thread holding the read role touches these.
  wire::MessageReader framer;
  std::unique_ptr<char[]> buf = std::make_unique_for_overwrite<char[]>(kReadChunk);

  std::mutex watch_mu;
  std::map<std::string, std::shared_ptr<WatchEntry>> watches;

  std::mutex event_mu;
  std::condition_variable event_cv;
  std::deque<Event> events;
  bool events_stopping = false;

  std::thread own;  // reads while callers are quiet; reports the daemon's close
  std::thread dispatcher;

  std::once_flag page_once;  // mapped at the first PublishedWriteGeneration()
  const wire::WriteGenerationPage* page = nullptr;
  void MapGenerationPage();

  void OwnLoop();
  void ReadWhileQuiet();
  void DispatchLoop();
  void Await(ReplyBatch& batch);
  bool ReadUntilDone(ReplyBatch& batch, Clock::time_point deadline);
  bool TakeRole() EXCLUSIVE_LOCKS_REQUIRED(mu);
  void ReleaseRole() EXCLUSIVE_LOCKS_REQUIRED(mu);
  bool Quiet() const EXCLUSIVE_LOCKS_REQUIRED(mu);
  void DeliverBuffered();
  void Deliver(wire::Message msg);
  void DeliverEvent(Event ev);
  void Fill(const PendingReply& to, Result<std::string> reply) EXCLUSIVE_LOCKS_REQUIRED(mu);
  std::shared_ptr<WatchEntry> EntryOf(const std::string& token);
  void Lost(const Status& why);
  void FailAll(const Status& why) EXCLUSIVE_LOCKS_REQUIRED(mu);
  void GiveUp(ReplyBatch& batch) EXCLUSIVE_LOCKS_REQUIRED(mu);
  Status WriteAll(std::string_view bytes);
};

bool Connection::Impl::TakeRole() {
  if (reading) return false;
  reading = true;
  reader_id = std::this_thread::get_id();
  return true;
}

// Hands the role to one sleeping caller whose reply is still out.
void Connection::Impl::ReleaseRole() {
  reading = false;
  reader_id = {};
  for (ReplyBatch* b : waiting) {
    if (b->remaining == 0) continue;
    b->wake.Signal();
    return;
  }
}

bool Connection::Impl::Quiet() const {
  return pending.empty() && Clock::now() - last_call >= quiet_after;
}

// The caller's side: read (holding the role) or sleep until every reply of
// `batch` is in; what is still out at the call timeout fails with ETIMEDOUT.
void Connection::Impl::Await(ReplyBatch& batch) {
  const Clock::time_point deadline = Clock::now() + call_timeout;
  mu.Lock();
  while (batch.remaining > 0 && Clock::now() < deadline) {
    if (TakeRole()) {
      mu.Unlock();
      ReadUntilDone(batch, deadline);
      mu.Lock();
      ReleaseRole();
      continue;
    }
    auto me = waiting.insert(waiting.end(), &batch);
    batch.wake.WaitUntil(deadline);
    waiting.erase(me);
  }
  if (batch.remaining > 0) GiveUp(batch);
  mu.Unlock();
}

// Holding the read role: reads until `batch` is complete (true), the deadline
// passes (false) or the connection is lost (true: every reply is then filled).
bool Connection::Impl::ReadUntilDone(ReplyBatch& batch, Clock::time_point deadline) {
  for (;;) {
    DeliverBuffered();
    {
      MutexLock lock(&mu);
      if (batch.remaining == 0) return true;
    }
    if (!framer.error().ok()) {
      Lost(Status::Error(
          EPROTO, "xenstore connection to " + socket_path + ": " + framer.error().message()));
      return true;
    }
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd.get(), POLLIN, 0};
    int ready = poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno != EINTR) {
      Lost(Status::Error(ECONNRESET, std::string("xenstore poll: ") + strerror(errno)));
      return true;
    }
    if (ready <= 0) continue;
    ssize_t n = recv(fd.get(), buf.get(), kReadChunk, MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) {
      Lost(Status::Error(ECONNRESET, "xenstore connection to " + socket_path + " closed"));
      return true;
    }
    framer.Feed(std::string_view(buf.get(), static_cast<size_t>(n)));
  }
}

// The own thread: rests while callers read; once they are quiet, reads (so
// watch events arrive with no one calling) until a call is made. When the
// daemon closes the connection, it runs the on_closed callback.
void Connection::Impl::OwnLoop() {
  mu.Lock();
  while (!stopping && alive) {
    if (reading || !Quiet()) {
      own_wake.WaitUntil(std::max(Clock::now(), last_call) + quiet_after);
      continue;
    }
    TakeRole();
    mu.Unlock();
    ReadWhileQuiet();
    mu.Lock();
    ReleaseRole();
  }
  std::function<void()> callback = closing ? nullptr : std::move(on_closed);
  mu.Unlock();
  if (callback) callback();
  std::lock_guard lock(event_mu);
  events_stopping = true;
  event_cv.notify_all();
}

// Holding the read role for the own thread: blocking reads, each handed on,
// until a caller has called (it may be asleep, waiting for this thread to
// read its reply: that reply has then just been delivered).
void Connection::Impl::ReadWhileQuiet() {
  for (;;) {
    DeliverBuffered();
    {
      MutexLock lock(&mu);
      if (stopping || !alive || !Quiet()) return;
    }
    if (!framer.error().ok()) {
      return Lost(Status::Error(
          EPROTO, "xenstore connection to " + socket_path + ": " + framer.error().message()));
    }
    ssize_t n = read(fd.get(), buf.get(), kReadChunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      return Lost(Status::Error(ECONNRESET, "xenstore connection to " + socket_path + " closed"));
    framer.Feed(std::string_view(buf.get(), static_cast<size_t>(n)));
  }
}

void Connection::Impl::DeliverBuffered() {
  while (auto msg = framer.Next()) Deliver(std::move(*msg));
}

void Connection::Impl::Deliver(wire::Message msg) {
  if (msg.type() == wire::MsgType::kWatchEvent) {
    auto fields = wire::SplitFields(msg.payload);
    if (fields.size() >= 2) DeliverEvent({std::string(fields[0]), std::string(fields[1])});
    return;
  }
  MutexLock lock(&mu);
  auto it = pending.find(msg.header.req_id);
  if (it == pending.end()) return;  // a reply nobody waits for (any more): ignore
  PendingReply to = std::move(it->second);
  pending.erase(it);
  if (msg.type() == wire::MsgType::kError) {
    std::string name = StripNul(msg.payload);
    int code = ErrnoFromName(name);
    Fill(to, Status::Error(code ? code : EIO, to.what + " (" + name + ")"));
  } else {
    Fill(to, std::move(msg.payload));
  }
}

void Connection::Impl::Fill(const PendingReply& to, Result<std::string> reply) {
  to.batch->replies[to.index] = std::move(reply);
  if (--to.batch->remaining == 0) to.batch->wake.Signal();
}

std::shared_ptr<WatchEntry> Connection::Impl::EntryOf(const std::string& token) {
  std::lock_guard lock(watch_mu);
  auto it = watches.find(token);
  return it != watches.end() ? it->second : nullptr;
}

// A kReader watch's callback runs here and now, on the reading thread; the
// others are queued for the event thread.
void Connection::Impl::DeliverEvent(Event ev) {
  std::shared_ptr<WatchEntry> entry = EntryOf(ev.token);
  if (entry && entry->delivery == WatchDelivery::kReader) {
    std::lock_guard call(entry->mu);
    if (entry->active) entry->callback(ev.path, ev.token);
    return;
  }
  std::lock_guard lock(event_mu);
  events.push_back(std::move(ev));
  event_cv.notify_one();
}

void Connection::Impl::DispatchLoop() {
  while (true) {
    Event ev;
    {
      std::unique_lock lock(event_mu);
      event_cv.wait(lock, [&] { return events_stopping || !events.empty(); });
      if (events.empty()) return;
      ev = std::move(events.front());
      events.pop_front();
    }
    std::shared_ptr<WatchEntry> entry = EntryOf(ev.token);
    if (!entry) continue;
    std::lock_guard call(entry->mu);
    if (entry->active) entry->callback(ev.path, ev.token);
  }
}

// The daemon has gone (or spoke garbage): every call fails from now on.
void Connection::Impl::Lost(const Status& why) {
  MutexLock lock(&mu);
  alive = false;
  FailAll(why);
  own_wake.Signal();
}

void Connection::Impl::FailAll(const Status& why) {
  for (auto& [id, to] : pending) Fill(to, why);
  pending.clear();
}

// The call timed out: its replies still out fail, and are ignored if they come.
void Connection::Impl::GiveUp(ReplyBatch& batch) {
  for (auto it = pending.begin(); it != pending.end();) {
    if (it->second.batch != &batch) {
      ++it;
      continue;
    }
    Fill(it->second, Status::Error(ETIMEDOUT, it->second.what + ": no reply from xenstore in " +
                                                  std::to_string(call_timeout.count()) + " ms"));
    it = pending.erase(it);
  }
}

Status Connection::Impl::WriteAll(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = send(fd.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::Error(ECONNRESET, std::string("xenstore write: ") + strerror(errno));
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Result<std::unique_ptr<Connection>> Connection::Open(std::string socket_path,
                                                     ConnectionOptions options) {
  if (socket_path.empty()) {
    const char* env = std::getenv("XENSTORED_PATH");
    socket_path = env && *env ? env : kDefaultSocket;
  }
  TXEND_ASSIGN_OR_RETURN(UniqueFd fd, ConnectUnix(socket_path));
  auto impl = std::make_unique<Impl>();
  impl->fd = std::move(fd);
  impl->socket_path = socket_path;
  impl->call_timeout = options.call_timeout;
  impl->quiet_after = options.quiet_after;
  Impl* raw = impl.get();
  impl->own = std::thread([raw] { raw->OwnLoop(); });
  impl->dispatcher = std::thread([raw] { raw->DispatchLoop(); });
  return std::unique_ptr<Connection>(new Connection(std::move(impl)));
}

Connection::Connection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

// The page beside the socket, if it is a regular file of the right layout,
// owned by the user of the process at the other end of this connection and
// naming that process.
void Connection::Impl::MapGenerationPage() {
  std::string path = wire::WriteGenerationPath(socket_path);
  UniqueFd file(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW));
  struct stat st {};
  if (!file || fstat(file.get(), &st) != 0 || !S_ISREG(st.st_mode) ||
      st.st_size < static_cast<off_t>(sizeof(wire::WriteGenerationPage)))
    return;
  void* mem =
      mmap(nullptr, sizeof(wire::WriteGenerationPage), PROT_READ, MAP_SHARED, file.get(), 0);
  if (mem == MAP_FAILED) return;
  auto* mapped = static_cast<const wire::WriteGenerationPage*>(mem);
  ucred peer{};
  socklen_t len = sizeof peer;
  if (mapped->magic != wire::WriteGenerationPage::kMagic ||
      getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &peer, &len) != 0 || peer.pid != mapped->pid ||
      peer.uid != st.st_uid) {
    munmap(mem, sizeof(wire::WriteGenerationPage));
    return;
  }
  page = mapped;
}

std::optional<uint64_t> Connection::PublishedWriteGeneration() const {
  std::call_once(impl_->page_once, [this] { impl_->MapGenerationPage(); });
  if (!impl_->page || !impl_->alive) return std::nullopt;
  return impl_->page->generation.load(std::memory_order_acquire);
}

Connection::~Connection() {
  impl_->closing = true;
  {
    MutexLock lock(&impl_->mu);
    impl_->stopping = true;
    impl_->own_wake.Signal();
  }
  shutdown(impl_->fd.get(), SHUT_RDWR);
  impl_->own.join();
  impl_->dispatcher.join();
  impl_->fd.reset();  // only now: no thread uses it any more
  if (impl_->page) munmap(const_cast<wire::WriteGenerationPage*>(impl_->page), sizeof *impl_->page);
}

bool Connection::alive() const { return impl_->alive; }

void Connection::OnClosed(std::function<void()> callback) {
  MutexLock lock(&impl_->mu);
  impl_->on_closed = std::move(callback);
}

std::vector<Result<std::string>> Connection::CallMany(std::span<const Request> requests) {
  ReplyBatch batch(&impl_->mu, requests.size());
  {
    std::lock_guard send_lock(impl_->send_mu);
    std::string bytes;
    {
      MutexLock lock(&impl_->mu);
      impl_->last_call = Clock::now();
      for (size_t i = 0; i < requests.size(); ++i) {
        const Request& r = requests[i];
        if (r.payload.size() > wire::kPayloadMax) {
          batch.replies[i] =
              Status::Error(E2BIG, Describe(r.type, r.payload) + ": payload too large");
        } else if (!impl_->alive) {
          batch.replies[i] = Status::Error(ECONNRESET, "xenstore connection closed");
        } else {
          uint32_t id = impl_->next_req_id++;
          if (id == 0) id = impl_->next_req_id++;
          impl_->pending[id] = PendingReply{&batch, i, Describe(r.type, r.payload)};
          ++batch.remaining;
          bytes += wire::Encode(r.type, id, r.tx_id, r.payload);
        }
      }
    }
    if (!bytes.empty()) {
      Status st = impl_->WriteAll(bytes);
      if (!st.ok()) impl_->Lost(st);  // a failed send means the daemon has gone
    }
  }
  impl_->Await(batch);
  return std::move(batch.replies);
}

Result<std::string> Connection::Call(wire::MsgType type, uint32_t tx_id, std::string_view payload) {
  Request r{type, tx_id, std::string(payload)};
  return std::move(CallMany(std::span<const Request>(&r, 1)).front());
}

Result<Watch> Connection::AddWatch(const std::string& path, WatchCallback callback,
                                   WatchDelivery delivery) {
  std::string token = "txend:" + std::to_string(impl_->next_token++);
  auto entry = std::make_shared<WatchEntry>();
  entry->delivery = delivery;
  entry->callback = std::move(callback);
  {
    std::lock_guard lock(impl_->watch_mu);
    impl_->watches[token] = entry;
  }
  auto reply = Call(wire::MsgType::kWatch, 0, wire::JoinFields({path, token}));
  if (!reply.ok()) {
    std::lock_guard lock(impl_->watch_mu);
    impl_->watches.erase(token);
    return reply.status();
  }
  return Watch(this, path, token);
}

namespace {
Status OkOrError(const Result<std::string>& r) { return r.ok() ? Status::Ok() : r.status(); }
}  // namespace

// GET_DOMAIN_PATH of Domain-0: no node is touched and every daemon answers it.
Status Connection::Sync() {
  return OkOrError(Call(wire::MsgType::kGetDomainPath, 0, wire::JoinFields({"0"})));
}

Status Connection::Introduce(uint32_t domid, uint64_t store_mfn, uint32_t store_port) {
  return OkOrError(Call(wire::MsgType::kIntroduce, 0,
                        wire::JoinFields({std::to_string(domid), std::to_string(store_mfn),
                                          std::to_string(store_port)})));
}

Status Connection::Release(uint32_t domid) {
  return OkOrError(Call(wire::MsgType::kRelease, 0, wire::JoinFields({std::to_string(domid)})));
}

Result<bool> Connection::IsDomainIntroduced(uint32_t domid) {
  TXEND_ASSIGN_OR_RETURN(std::string r, Call(wire::MsgType::kIsDomainIntroduced, 0,
                                             wire::JoinFields({std::to_string(domid)})));
  return StripNul(r) == "T";
}

Result<std::string> Connection::GetDomainPath(uint32_t domid) {
  TXEND_ASSIGN_OR_RETURN(std::string r, Call(wire::MsgType::kGetDomainPath, 0,
                                             wire::JoinFields({std::to_string(domid)})));
  return StripNul(r);
}

Status Connection::Resume(uint32_t domid) {
  return OkOrError(Call(wire::MsgType::kResume, 0, wire::JoinFields({std::to_string(domid)})));
}

Result<std::string> Connection::Control(const std::vector<std::string>& args) {
  std::vector<std::string_view> fields(args.begin(), args.end());
  TXEND_ASSIGN_OR_RETURN(std::string r, Call(wire::MsgType::kControl, 0, wire::JoinFields(fields)));
  return StripNul(r);
}

Watch::Watch(Connection* conn, std::string path, std::string token)
    : conn_(conn), path_(std::move(path)), token_(std::move(token)) {}

Watch::Watch(Watch&& other) noexcept
    : conn_(std::exchange(other.conn_, nullptr)),
      path_(std::move(other.path_)),
      token_(std::move(other.token_)) {}

Watch& Watch::operator=(Watch&& other) noexcept {
  if (this != &other) {
    Release();
    conn_ = std::exchange(other.conn_, nullptr);
    path_ = std::move(other.path_);
    token_ = std::move(other.token_);
  }
  return *this;
}

Watch::~Watch() { Release(); }

void Watch::Release() {
  if (!conn_) return;
  auto& impl = *conn_->impl_;
  std::shared_ptr<WatchEntry> entry;
  {
    std::lock_guard lock(impl.watch_mu);
    auto it = impl.watches.find(token_);
    if (it != impl.watches.end()) {
      entry = it->second;
      impl.watches.erase(it);
    }
  }
  if (entry) {
    std::thread::id here = std::this_thread::get_id();
    bool on_reader;
    {
      MutexLock lock(&impl.mu);
      on_reader = impl.reading && impl.reader_id == here;
    }
    if (here == impl.dispatcher.get_id() || on_reader) {
      entry->active = false;  // from a callback: no other callback can be running
    } else {
      std::lock_guard call(entry->mu);  // waits for a callback in flight
      entry->active = false;
    }
  }
  if (conn_->alive())
    (void)conn_->Call(wire::MsgType::kUnwatch, 0, wire::JoinFields({path_, token_}));
  conn_ = nullptr;
}

}  // namespace txend::xs
