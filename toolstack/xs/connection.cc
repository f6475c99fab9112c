#include "toolstack/xs/connection.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <sys/socket.h>
#include <sys/un.h>
#include <thread>

#include "base/unique_fd.h"

namespace txend::xs {
namespace {

constexpr const char* kDefaultSocket = "/run/xenstored/socket";

// One registered watch's callback; `mu` is held while it runs so that
// unregistering waits for a callback in flight.
struct WatchEntry {
  std::mutex mu;
  bool active = true;
  WatchDelivery delivery = WatchDelivery::kEventThread;
  WatchCallback callback;
};

// The replies of one CallMany: the caller sleeps once, until the last one is in
// (a wake-up per reply would cost a context switch per pipelined request).
class ReplyBatch {
 public:
  explicit ReplyBatch(size_t size) : replies_(size, Status::Error(EIO, "no reply")) {}
  void Expect(size_t count) { remaining_ = count; }
  void Fill(size_t index, Result<std::string> reply) {
    std::lock_guard lock(mu_);
    replies_[index] = std::move(reply);
    if (--remaining_ == 0) done_.notify_one();
  }
  // Sets a reply that never went out; not counted as expected.
  void Set(size_t index, Result<std::string> reply) { replies_[index] = std::move(reply); }
  std::vector<Result<std::string>> Wait() {
    std::unique_lock lock(mu_);
    done_.wait(lock, [&] { return remaining_ == 0; });
    return std::move(replies_);
  }

 private:
  std::mutex mu_;
  std::condition_variable done_;
  std::vector<Result<std::string>> replies_;
  size_t remaining_ = 0;
};

// A request waiting for its reply; `what` names it in error messages.
struct PendingReply {
  std::shared_ptr<ReplyBatch> batch;
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

struct Connection::Impl {
  UniqueFd fd;  // shared by the reader thread and senders; closed by ~Connection
  std::string socket_path;
  std::atomic<bool> alive{true};
  std::atomic<bool> closing{false};  // set by ~Connection: the close is ours
  std::mutex closed_mu;
  std::function<void()> on_closed;
  std::atomic<uint32_t> next_req_id{1};
  std::atomic<uint64_t> next_token{1};

  std::mutex send_mu;  // keeps each batch's bytes contiguous on the wire
  std::mutex pending_mu;
  std::map<uint32_t, PendingReply> pending;  // by req_id

  std::mutex watch_mu;
  std::map<std::string, std::shared_ptr<WatchEntry>> watches;

  std::mutex event_mu;
  std::condition_variable event_cv;
  std::deque<Event> events;
  bool stopping = false;

  std::thread reader;
  std::thread dispatcher;

  void ReadLoop();
  void DispatchLoop();
  void Deliver(wire::Message msg);
  void DeliverEvent(Event ev);
  std::shared_ptr<WatchEntry> EntryOf(const std::string& token);
  void FailAll(const Status& why);
  Status WriteAll(std::string_view bytes);
};

void Connection::Impl::ReadLoop() {
  wire::MessageReader framer;
  char buf[16384];
  while (true) {
    ssize_t n = read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    framer.Feed(std::string_view(buf, static_cast<size_t>(n)));
    while (auto msg = framer.Next()) Deliver(std::move(*msg));
    if (!framer.error().ok()) break;
  }
  alive = false;
  FailAll(Status::Error(ECONNRESET, "xenstore connection to " + socket_path + " closed"));
  if (!closing) {
    std::function<void()> callback;
    {
      std::lock_guard lock(closed_mu);
      callback = std::move(on_closed);
    }
    if (callback) callback();
  }
  std::lock_guard lock(event_mu);
  stopping = true;
  event_cv.notify_all();
}

void Connection::Impl::Deliver(wire::Message msg) {
  if (msg.type() == wire::MsgType::kWatchEvent) {
    auto fields = wire::SplitFields(msg.payload);
    if (fields.size() >= 2) DeliverEvent({std::string(fields[0]), std::string(fields[1])});
    return;
  }
  PendingReply waiter;
  {
    std::lock_guard lock(pending_mu);
    auto it = pending.find(msg.header.req_id);
    if (it == pending.end()) return;  // a reply nobody waits for: ignore
    waiter = std::move(it->second);
    pending.erase(it);
  }
  if (msg.type() == wire::MsgType::kError) {
    std::string name = StripNul(msg.payload);
    int code = ErrnoFromName(name);
    waiter.batch->Fill(waiter.index,
                       Status::Error(code ? code : EIO, waiter.what + " (" + name + ")"));
  } else {
    waiter.batch->Fill(waiter.index, std::move(msg.payload));
  }
}

std::shared_ptr<WatchEntry> Connection::Impl::EntryOf(const std::string& token) {
  std::lock_guard lock(watch_mu);
  auto it = watches.find(token);
  return it != watches.end() ? it->second : nullptr;
}

// A kReader watch's callback runs here and now, on the reader thread; the
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
      event_cv.wait(lock, [&] { return stopping || !events.empty(); });
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

void Connection::Impl::FailAll(const Status& why) {
  std::lock_guard lock(pending_mu);
  for (auto& [id, waiter] : pending) waiter.batch->Fill(waiter.index, why);
  pending.clear();
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

Result<std::unique_ptr<Connection>> Connection::Open(std::string socket_path) {
  if (socket_path.empty()) {
    const char* env = std::getenv("XENSTORED_PATH");
    socket_path = env && *env ? env : kDefaultSocket;
  }
  TXEND_ASSIGN_OR_RETURN(UniqueFd fd, ConnectUnix(socket_path));
  auto impl = std::make_unique<Impl>();
  impl->fd = std::move(fd);
  impl->socket_path = socket_path;
  Impl* raw = impl.get();
  impl->reader = std::thread([raw] { raw->ReadLoop(); });
  impl->dispatcher = std::thread([raw] { raw->DispatchLoop(); });
  return std::unique_ptr<Connection>(new Connection(std::move(impl)));
}

Connection::Connection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Connection::~Connection() {
  impl_->closing = true;
  shutdown(impl_->fd.get(), SHUT_RDWR);
  impl_->reader.join();
  impl_->dispatcher.join();
  impl_->fd.reset();  // only now: no thread uses it any more
}

bool Connection::alive() const { return impl_->alive; }

void Connection::OnClosed(std::function<void()> callback) {
  std::lock_guard lock(impl_->closed_mu);
  impl_->on_closed = std::move(callback);
}

std::vector<Result<std::string>> Connection::CallMany(std::span<const Request> requests) {
  auto batch = std::make_shared<ReplyBatch>(requests.size());
  {
    std::lock_guard send_lock(impl_->send_mu);
    std::string bytes;
    {
      std::lock_guard lock(impl_->pending_mu);
      batch->Expect(std::count_if(requests.begin(), requests.end(), [](const Request& r) {
        return r.payload.size() <= wire::kPayloadMax;
      }));
      for (size_t i = 0; i < requests.size(); ++i) {
        const Request& r = requests[i];
        if (r.payload.size() > wire::kPayloadMax) {
          batch->Set(i, Status::Error(E2BIG, Describe(r.type, r.payload) + ": payload too large"));
          continue;
        }
        uint32_t id = impl_->next_req_id++;
        if (id == 0) id = impl_->next_req_id++;
        impl_->pending[id] = PendingReply{batch, i, Describe(r.type, r.payload)};
        bytes += wire::Encode(r.type, id, r.tx_id, r.payload);
      }
    }
    Status st = impl_->alive ? impl_->WriteAll(bytes)
                             : Status::Error(ECONNRESET, "xenstore connection closed");
    if (!st.ok()) {
      impl_->alive = false;  // a failed send means the daemon has gone
      impl_->FailAll(st);
    }
  }
  return batch->Wait();
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
    if (here == impl.dispatcher.get_id() || here == impl.reader.get_id()) {
      entry->active = false;  // on the event thread: no other callback can be running
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
