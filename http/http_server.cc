#include "http/http_server.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <sys/socket.h>
#include <sys/stat.h>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "base/mutex.h"
#include "http/awaiting_close.h"
#include "http/connection_table.h"
#include "http/descriptor_stream.h"
#include "http/request_decoder.h"
#include "tls/peer_certificate.h"

namespace txend::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using local = asio::local::stream_protocol;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// The most a connection buffers unparsed: a request head, or a chunked body's
// trailer (Beast parses a trailer whole and without the head's limit).
constexpr size_t kMaxBufferedBytes = kMaxHeaderBytes;
// How long accepting pauses after an error such as EMFILE.
constexpr std::chrono::milliseconds kAcceptRetry{100};
// How often a parked client that sent bytes early is checked for having gone.
constexpr std::chrono::milliseconds kPeerRecheck{1000};
// The I/O thread that accepts: it answers a new connection's first read itself when the
// handler answers it at once, and moves the connection to a session shard otherwise.
constexpr size_t kListenerShard = 0;
// It answers a first read only while at most this many connections live there (the one
// asking included): a flood of connections spills to the other threads, which run in parallel.
constexpr int kListenerShardSessions = 4;
// A refused connection stays open after its refusal, reading and dropping what the client
// sends, until the client closes or this long has passed; at most this many at once (a
// flood of refused clients is closed at once rather than hold more descriptors).
constexpr std::chrono::milliseconds kLinger{1000};
constexpr size_t kMaxLingering = 64;
constexpr size_t kLingerChunk = 4096;

// The watch handles of parked (deferred) replies. The server drops them all
// before its io_context goes, so no wake posts to it afterwards.
class ParkedWatches {
 public:
  // An id for Drop; a handle kept after DropAll is dropped at once.
  uint64_t Keep(std::shared_ptr<void> handle) LOCKS_EXCLUDED(mu_) {
    MutexLock lock(&mu_);
    if (closed_) return 0;
    handles_.emplace(++last_, std::move(handle));
    return last_;
  }
  void Drop(uint64_t id) LOCKS_EXCLUDED(mu_) {
    std::shared_ptr<void> handle;  // released after the lock: it may take its source's
    MutexLock lock(&mu_);
    if (auto it = handles_.find(id); it != handles_.end()) {
      handle = std::move(it->second);
      handles_.erase(it);
    }
  }
  void DropAll() LOCKS_EXCLUDED(mu_) {
    std::map<uint64_t, std::shared_ptr<void>> handles;
    MutexLock lock(&mu_);
    closed_ = true;
    handles.swap(handles_);
  }

 private:
  Mutex mu_;
  bool closed_ GUARDED_BY(mu_) = false;
  uint64_t last_ GUARDED_BY(mu_) = 0;
  std::map<uint64_t, std::shared_ptr<void>> handles_ GUARDED_BY(mu_);
};

// Whether a parked client has gone: closed or shut its side, or the socket failed.
bool PeerGone(int fd) {
  pollfd p{fd, POLLIN | POLLRDHUP, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
}

// What the listener knows of a session shard when it places a new connection.
struct ShardLoad {
  std::atomic<int> sessions{0};      // live sessions on it
  std::atomic<int> inline_reads{0};  // reads its thread runs now (0 or 1)
};

// State every session shares with the server. Sessions and listeners own it
// with the server: an io_context may drop a session's handler (and so run
// its destructor, which leaves the connection table) after the server's own
// members are gone.
struct Shared {
  Shared(ServerOptions o, HttpServer::Handler h, asio::thread_pool& w, asio::thread_pool& r,
         asio::thread_pool& wt, std::vector<asio::io_context*> c)
      : options(std::move(o)),
        handler(std::move(h)),
        workers(w),
        readers(r),
        waiters(wt),
        connections({options.max_connections, options.max_connections_per_peer}),
        contexts(std::move(c)),
        loads(contexts.size()) {}
  const ServerOptions options;
  const HttpServer::Handler handler;
  asio::thread_pool& workers;               // requests that may change things
  asio::thread_pool& readers;               // GET and HEAD
  asio::thread_pool& waiters;               // targets under options.wait_path_prefix
  std::shared_ptr<asio::ssl::context> tls;  // set: TCP clients handshake first
  ServerStats stats;
  ConnectionTable connections;
  ParkedWatches watches;
  std::atomic<int> inline_reads{0};               // GETs running on I/O threads now
  std::atomic<size_t> lingering{0};               // refused connections not yet closed
  const std::vector<asio::io_context*> contexts;  // by shard; [0] is the listeners'
  std::vector<ShardLoad> loads;  // by shard; [0] counts connections before their first move

  // A slot to run a read on shard `shard`'s thread, while fewer than options.inline_reads do.
  bool TakeInlineSlot(size_t shard) {
    if (inline_reads.fetch_add(1) < options.inline_reads) {
      ++loads[shard].inline_reads;
      return true;
    }
    --inline_reads;
    return false;
  }
  void ReleaseInlineSlot(size_t shard) {
    --loads[shard].inline_reads;
    --inline_reads;
  }

  // The shard a new connection lives on: the one with the fewest live sessions among those
  // not running an inline read now (the lowest on a tie, so a client that opens one
  // connection per request finds the same warm thread each time), and counts it there.
  // There is always one: reads take at most options.inline_reads of the shards 1..n-1.
  size_t PlaceSession() {
    size_t best = 0;
    for (size_t i = 1; i < loads.size(); ++i) {
      if (loads[i].inline_reads.load() > 0) continue;
      if (best == 0 || loads[i].sessions.load() < loads[best].sessions.load()) best = i;
    }
    if (best == 0) best = 1;  // a read began since it was checked: a moment, not a stall
    ++loads[best].sessions;
    return best;
  }
};

// A reply being written, and how far.
struct Outgoing {
  using Response = bhttp::response<bhttp::string_body>;
  using Serializer = bhttp::response_serializer<bhttp::string_body>;
  explicit Outgoing(Response r) : response(std::move(r)), serializer(response) {}
  Response response;
  Serializer serializer;
};

bhttp::response<bhttp::string_body> ToBeast(HttpResponse r, unsigned version, bool keep_alive) {
  bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(r.status), version};
  res.set(bhttp::field::server, "txend");
  res.set(bhttp::field::content_type, r.content_type);
  res.keep_alive(keep_alive);
  res.body() = std::move(r.body);  // a list of every domain is most of a megabyte
  res.prepare_payload();
  return res;
}

// The reply to a request Beast could not read whole, or nullopt when the
// client simply went away (or was shed) and gets none.
std::optional<HttpResponse> ReadErrorReply(beast::error_code ec, const ServerOptions& o) {
  if (ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
      ec == asio::error::connection_reset || ec == asio::error::operation_aborted ||
      ec == asio::error::bad_descriptor || ec == beast::error::timeout)
    return std::nullopt;
  if (ec == bhttp::error::body_limit)
    return XendError(413,
                     "request body larger than " + std::to_string(o.max_body_bytes) + " bytes");
  if (ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow)
    return XendError(431, "request head or chunked trailer larger than " +
                              std::to_string(kMaxHeaderBytes) + " bytes");
  return XendError(400, "malformed HTTP request: " + ec.message());
}

template <class Stream>
constexpr bool kIsTls = std::is_same_v<Stream, TlsStream>;

// A socket on `ioc` for descriptor `fd`, registered with its epoll set; nullopt, the
// descriptor closed, when that fails (epoll's limit of watches, say).
template <class Socket>
std::optional<Socket> Adopt(int fd, const typename Socket::protocol_type& protocol,
                            asio::io_context& ioc) {
  beast::error_code ec;
  Socket socket(ioc);
  if (socket.assign(protocol, fd, ec)) {
    ::close(fd);
    return std::nullopt;
  }
  return socket;
}

// `socket` moved to `to`'s io_context: its descriptor leaves its own epoll set for that
// one's. nullopt, the descriptor closed, when that fails (which it does not short of a bug).
template <class Socket>
std::optional<Socket> MoveSocket(Socket socket, const typename Socket::protocol_type& protocol,
                                 asio::io_context& to) {
  beast::error_code ec;
  auto fd = socket.release(ec);  // on failure the socket keeps it, and closes it
  if (ec) return std::nullopt;
  return Adopt<Socket>(fd, protocol, to);
}

// A decoded request and what its reply needs of the original.
struct Request {
  HttpRequest http;
  unsigned version;
  bool keep_alive;
};

// One client connection: (over TLS, a handshake first,) read a request, run
// the handler on the worker pool, write the reply (a deferred one once it is
// due, unless the client goes first), repeat while the client keeps the
// connection alive.
template <class Stream>
class Session : public Evictable,
                public AwaitingClose::Connection,
                public std::enable_shared_from_this<Session<Stream>> {
  using Socket = typename beast::lowest_layer_type<Stream>::socket_type;
  using Protocol = typename Socket::protocol_type;

 public:
  // `limit_key` is what the connection table counted it under; "" if not admitted.
  // `identity` is who the client is, for a plain stream; a TLS one learns it in the handshake.
  // `shard` is the I/O thread whose io_context `stream` is on, as counted by PlaceSession.
  Session(Stream stream, std::shared_ptr<Shared> shared, size_t shard, std::string peer,
          std::string identity, std::string limit_key)
      : stream_(std::move(stream)),
        shared_(std::move(shared)),
        shard_(shard),
        peer_(std::move(peer)),
        identity_(std::move(identity)),
        limit_key_(std::move(limit_key)) {}
  ~Session() override {
    if (parked_) shared_->watches.Drop(parked_->watch);
    if (lingering_) --shared_->lingering;
    LeaveTable();
    if (unregistered_) ::close(unregistered_->fd);
    --shared_->loads[shard_].sessions;
  }

  // Before Start, for a plain stream made over no socket yet: the connection's descriptor,
  // served as it is until something must wait on it (Register), and where its listener
  // looks again for its close after a reply it sent at once.
  void TakeDescriptor(int fd, const Protocol& protocol, std::weak_ptr<AwaitingClose> awaiting) {
    unregistered_ = {fd, protocol};
    awaiting_close_ = std::move(awaiting);
  }

  bool LookAgain(bool last) override {
    if (!unregistered_) return false;  // evicted meanwhile
    if (auto done = ReadHeadAtOnce()) {
      OnHeader(*done);
      return false;
    }
    if (!last) return true;
    ReadLater();
    return false;
  }

  // Serves requests, or replies once with `refusal` and closes (a refused client).
  void Start(std::optional<HttpResponse> refusal) {
    if constexpr (kIsTls<Stream>)
      Handshake(std::move(refusal));
    else
      Begin(std::move(refusal));
  }

  // On the accepting thread, before Start is posted: an admitted plain connection waits for
  // its first request from its accept on, so a full server sheds connections in accept order
  // whichever thread starts first. (A TLS one waits once its handshake is through.)
  void Accepted() {
    if constexpr (!kIsTls<Stream>)
      waiting_ticket_ = shared_->connections.StartWaiting(this->weak_from_this());
  }

  auto executor() { return stream_.get_executor(); }

  void Evict(uint64_t ticket) override {
    asio::post(stream_.get_executor(), [self = this->shared_from_this(), ticket] {
      if (self->waiting_ticket_ != ticket) return;  // its request has arrived meanwhile
      ++self->shared_->stats.evicted;
      self->Close();
    });
  }

 private:
  auto& Lowest() { return beast::get_lowest_layer(stream_); }

  void Begin(std::optional<HttpResponse> refusal) {
    if (!refusal) return Read();
    ++shared_->stats.refused;
    refused_ = true;
    Send(*refusal, 11, false);
  }

  // A client without a certificate the CA signed never gets to send a request.
  void Handshake(std::optional<HttpResponse> refusal) {
    Lowest().expires_after(shared_->options.header_timeout);
    stream_.async_handshake(
        asio::ssl::stream_base::server,
        [self = this->shared_from_this(), refusal = std::move(refusal)](beast::error_code ec) {
          if (ec) return self->RefuseHandshake(ec);
          std::string subject = tls::PeerCertificateSubject(self->stream_.native_handle());
          self->identity_ = subject.empty() ? "no certificate" : subject;
          self->Begin(refusal);
        });
  }

  void RefuseHandshake(beast::error_code ec) {
    ++shared_->stats.refused;
    if (shared_->options.log)
      shared_->options.log("TCP API: refused " + peer_ + ": TLS handshake failed: " + ec.message());
    Close();
  }

  void Read() {
    parser_.emplace();
    parser_->body_limit(shared_->options.max_body_bytes);
    parser_->header_limit(kMaxHeaderBytes);
    if (waiting_ticket_ == 0)  // else counted since it was accepted
      waiting_ticket_ = shared_->connections.StartWaiting(this->weak_from_this());
    if constexpr (!kIsTls<Stream>) {  // its first request, then its close or next request
      if (shard_ == kListenerShard && ++reads_on_listener_ <= 2) {
        bool first = reads_on_listener_ == 1;
        if (first || buffer_.size() > 0) {  // a request at once, or sent behind the first
          if (auto done = ReadHeadAtOnce()) return OnHeader(*done);
        }
        auto awaiting = awaiting_close_.lock();
        if (!first && awaiting && unregistered_) return awaiting->Add(this->shared_from_this());
      }
    }
    ReadLater();
  }

  // The head is read under the connection's own deadline (StartHeadDeadline), not the stream's
  // per-operation timer: that one is set, then cancelled, for every request a kept
  // connection sends (a timerfd update and a cancelled wait's handler each time).
  void ReadLater() {
    Register();
    Lowest().expires_never();
    StartHeadDeadline();
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [self = this->shared_from_this()](beast::error_code ec, size_t) {
                               if (!self->awaiting_head_) return;  // timed out meanwhile
                               self->awaiting_head_ = false;
                               self->OnHeader(ec);
                             });
  }

  // The head must be in by header_timeout from now. The timer is armed only when it is not
  // already: one armed earlier fires early and re-arms for the deadline then in force, so a
  // kept connection re-arms it about once per header_timeout, not once per request.
  void StartHeadDeadline() {
    head_deadline_ = asio::steady_timer::clock_type::now() + shared_->options.header_timeout;
    awaiting_head_ = true;
    if (!head_timer_armed_) ArmHeadTimer();
  }

  void ArmHeadTimer() {
    head_timer_armed_ = true;
    ++shared_->stats.head_timers_armed;
    head_timer_.expires_at(head_deadline_);
    head_timer_.async_wait([weak = this->weak_from_this()](beast::error_code ec) {
      if (auto self = weak.lock()) self->OnHeadTimer(ec);
    });
  }

  void OnHeadTimer(beast::error_code ec) {
    head_timer_armed_ = false;
    if (ec || !awaiting_head_) return;
    if (asio::steady_timer::clock_type::now() < head_deadline_) return ArmHeadTimer();
    awaiting_head_ = false;  // the pending read, cancelled by the close, is ignored
    OnHeader(beast::error::timeout);
  }

  // On the listeners' shard, where the client has mostly sent its request (or its close)
  // by the time it is accepted and answered: the head read without a timer or a wait for
  // readiness. nullopt when not all of it is there; the asynchronous read goes on from there.
  std::optional<beast::error_code> ReadHeadAtOnce() {
    beast::error_code ec;
    DescriptorStream at_once(Descriptor());
    bhttp::read_header(at_once, buffer_, *parser_, ec);
    if (ec == asio::error::would_block) return std::nullopt;
    return ec;
  }

  void OnHeader(beast::error_code ec) {
    shared_->connections.StopWaiting(waiting_ticket_);
    waiting_ticket_ = 0;
    if (ec) return OnReadError(ec);
    if (parser_->is_done()) return Dispatch();
    Register();
    Lowest().expires_after(shared_->options.body_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = this->shared_from_this()](beast::error_code ec, size_t) {
                        if (ec) return self->OnReadError(ec);
                        self->Dispatch();
                      });
  }

  void OnReadError(beast::error_code ec) {
    if (ec == beast::error::timeout) ++shared_->stats.timeouts;
    auto reply = ReadErrorReply(ec, shared_->options);
    if (!reply) return Close();
    Send(*reply, 11, false);
  }

  void Dispatch() {
    auto beast_request = parser_->release();
    ++shared_->stats.requests;
    Request req{{}, beast_request.version(), beast_request.keep_alive()};
    if (auto refusal = Decode(beast_request, req.http))
      return Send(std::move(*refusal), req.version, req.keep_alive);
    if constexpr (!kIsTls<Stream>) {
      if (shard_ == kListenerShard) return OnListenerShard(std::move(req));
    }
    Run(std::move(req));
  }

  // The request as the handler sees it, or the reply to one that cannot be decoded.
  std::optional<HttpResponse> Decode(const BeastRequest& from, HttpRequest& to) {
    try {
      auto decoded = DecodeRequest(from, peer_);
      if (!decoded.ok()) return XendError(400, decoded.status().message());
      to = std::move(*decoded);
      to.identity = identity_;
      return std::nullopt;
    } catch (const std::exception& e) {
      ++shared_->stats.exceptions;
      return XendError(500, std::string("internal error: ") + e.what());
    }
  }

  // Runs the handler: a read here while an inline slot is free, else on its pool.
  void Run(Request req) {
    asio::thread_pool& pool = PoolFor(req.http);
    if (&pool == &shared_->readers && shared_->TakeInlineSlot(shard_)) {
      HandlerReply reply = Respond(req.http);  // here, on this connection's I/O thread
      shared_->ReleaseInlineSlot(shard_);
      return Deliver(std::move(reply), pool, req.version, req.keep_alive);
    }
    asio::post(pool, [self = this->shared_from_this(), req = std::move(req), &pool] {
      HandlerReply reply = self->Respond(req.http);
      if (auto* later = std::get_if<DeferredReply>(&reply)) {
        return asio::post(self->stream_.get_executor(),
                          [self, later = std::move(*later), &pool, version = req.version,
                           keep_alive = req.keep_alive]() mutable {
                            self->Park(std::move(later), pool, version, keep_alive);
                          });
      }
      self->Reply(std::get<HttpResponse>(std::move(reply)), req.version, req.keep_alive);
    });
  }

  // On this connection's I/O thread: sends the reply, or parks the connection until it is due.
  void Deliver(HandlerReply reply, asio::thread_pool& pool, unsigned version, bool keep_alive) {
    if (auto* later = std::get_if<DeferredReply>(&reply))
      return Park(std::move(*later), pool, version, keep_alive);
    Send(std::get<HttpResponse>(std::move(reply)), version, keep_alive);
  }

  // A connection's first request, on the listeners' shard: a read the handler answers at
  // once is answered here (no other thread woken) while few connections are here; anything
  // else, and every later request of the connection, moves it to a session shard first.
  void OnListenerShard(Request req) {
    bool room = shared_->loads[kListenerShard].sessions.load() <= kListenerShardSessions;
    if (!answered_on_listener_ && room && req.http.is_read() && AnswersAtOnce(req.http)) {
      answered_on_listener_ = true;
      ++shared_->stats.answered_on_accept;
      return Deliver(Respond(req.http), shared_->readers, req.version, req.keep_alive);
    }
    MoveToSessionShard(std::move(req));
  }

  bool AnswersAtOnce(const HttpRequest& req) {
    if (!shared_->options.answers_at_once) return false;
    try {
      return shared_->options.answers_at_once(req);
    } catch (const std::exception&) {
      ++shared_->stats.exceptions;
      return false;
    }
  }

  // Hands the connection (its descriptor, any bytes read past `req`, its place in the
  // connection table) to a new session on the shard PlaceSession picks, which runs `req`.
  void MoveToSessionShard(Request req) {
    size_t shard = shared_->PlaceSession();
    auto moved = MovedTo(*shared_->contexts[shard]);
    if (!moved) {  // the connection is dropped
      --shared_->loads[shard].sessions;
      return LeaveTable();
    }
    auto next = std::make_shared<Session>(Stream(std::move(*moved)), shared_, shard, peer_,
                                          identity_, std::move(limit_key_));
    limit_key_.clear();  // the new session leaves the table
    auto unread = buffer_.data();
    next->buffer_.commit(asio::buffer_copy(next->buffer_.prepare(unread.size()), unread));
    asio::post(next->executor(),
               [next, req = std::move(req)]() mutable { next->Run(std::move(req)); });
  }

  // The connection's socket on `ioc`, leaving this session without one.
  std::optional<Socket> MovedTo(asio::io_context& ioc) {
    if (unregistered_) {  // straight to its new epoll set
      auto [fd, protocol] = *std::exchange(unregistered_, std::nullopt);
      ++shared_->stats.registered;
      return Adopt<Socket>(fd, protocol, ioc);
    }
    beast::error_code ec;
    auto socket = Lowest().release_socket();
    auto protocol = socket.local_endpoint(ec).protocol();
    if (ec) return std::nullopt;
    return MoveSocket(std::move(socket), protocol, ioc);
  }

  // From any thread: sends `response` on the connection's I/O thread.
  void Reply(HttpResponse response, unsigned version, bool keep_alive) {
    asio::post(stream_.get_executor(),
               [self = this->shared_from_this(), response = std::move(response), version,
                keep_alive]() mutable { self->Send(std::move(response), version, keep_alive); });
  }

  // Holds the connection, without a thread, until the reply's source wakes it,
  // its timeout passes, or the client goes away.
  void Park(DeferredReply later, asio::thread_pool& pool, unsigned version, bool keep_alive) {
    Register();
    uint64_t generation = ++park_generation_;
    parked_ = Parked{generation, std::move(later.answer), &pool, version, keep_alive, 0};
    park_timer_.expires_after(later.timeout);
    park_timer_.async_wait([self = this->shared_from_this(), generation](beast::error_code ec) {
      if (!ec) self->Unpark(generation);
    });
    WatchPeer(generation);
    if (!later.watch || !parked_) return;
    auto wake = [weak = this->weak_from_this(), generation] {
      if (auto self = weak.lock())
        asio::post(self->stream_.get_executor(), [self, generation] { self->Unpark(generation); });
    };
    parked_->watch = shared_->watches.Keep(later.watch(std::move(wake)));
  }

  bool IsParked(uint64_t generation) const { return parked_ && parked_->generation == generation; }

  // Notices the client going away while parked: a readable socket that has
  // seen the peer's end. Checked once the wait is armed, so no end is missed.
  // Bytes sent early (a pipelined request) keep the socket readable: then it
  // is looked at again every kPeerRecheck instead of at once.
  void WatchPeer(uint64_t generation) {
    Lowest().socket().async_wait(asio::socket_base::wait_read, [self = this->shared_from_this(),
                                                                generation](beast::error_code ec) {
      if (ec || !self->IsParked(generation)) return;  // answered meanwhile
      if (PeerGone(self->Lowest().socket().native_handle())) return self->Abandon(generation);
      self->peer_recheck_.expires_after(kPeerRecheck);
      self->peer_recheck_.async_wait([self, generation](beast::error_code ec) {
        if (!ec && self->IsParked(generation)) self->WatchPeer(generation);
      });
    });
    if (PeerGone(Lowest().socket().native_handle())) Abandon(generation);
  }

  // The reply is due: computed on the request's pool, then sent.
  void Unpark(uint64_t generation) {
    if (!IsParked(generation)) return;
    Parked p = std::move(*parked_);
    EndPark();
    asio::post(*p.pool, [self = this->shared_from_this(), answer = std::move(p.answer),
                         version = p.version, keep_alive = p.keep_alive] {
      self->Reply(self->Answer(answer), version, keep_alive);
    });
  }

  void Abandon(uint64_t generation) {
    if (!IsParked(generation)) return;
    EndPark();
    ++shared_->stats.abandoned;
    Close();
  }

  void EndPark() {
    shared_->watches.Drop(parked_->watch);
    parked_.reset();
    park_timer_.cancel();
    peer_recheck_.cancel();
    beast::error_code ignored;
    Lowest().socket().cancel(ignored);  // the peer watch
  }

  HttpResponse Answer(const std::function<HttpResponse()>& answer) {
    try {
      return answer();
    } catch (const std::exception& e) {
      ++shared_->stats.exceptions;
      return XendError(500, std::string("internal error: ") + e.what());
    }
  }

  asio::thread_pool& PoolFor(const HttpRequest& req) {
    const std::string& prefix = shared_->options.wait_path_prefix;
    if (!prefix.empty() && req.path.starts_with(prefix)) return shared_->waiters;
    return req.is_read() ? shared_->readers : shared_->workers;
  }

  // The handler's reply; an exception from it (a bug) is a 500, never the server's end.
  HandlerReply Respond(const HttpRequest& req) {
    try {
      return shared_->handler(req);
    } catch (const std::exception& e) {
      ++shared_->stats.exceptions;
      return XendError(500, std::string("internal error: ") + e.what());
    }
  }

  // Writes the reply: at once when the socket takes it all (a plain stream), else the rest
  // asynchronously, under the write deadline.
  void Send(HttpResponse response, unsigned version, bool keep_alive) {
    if (response.status >= 400) ++shared_->stats.error_replies;
    auto out = std::make_shared<Outgoing>(ToBeast(std::move(response), version, keep_alive));
    if constexpr (!kIsTls<Stream>) {
      if (auto done = WriteAtOnce(out->serializer)) return Sent(*done, keep_alive);
    }
    Register();
    Lowest().expires_after(shared_->options.write_timeout);
    bhttp::async_write(stream_, out->serializer,
                       [self = this->shared_from_this(), out, keep_alive](
                           beast::error_code ec, size_t) { self->Sent(ec, keep_alive); });
  }

  // nullopt when the socket would block before all is written; the serializer knows how far.
  std::optional<beast::error_code> WriteAtOnce(Outgoing::Serializer& serializer) {
    beast::error_code ec;
    DescriptorStream at_once(Descriptor());
    while (!ec && !serializer.is_done()) bhttp::write_some(at_once, serializer, ec);
    if (ec == asio::error::would_block) return std::nullopt;
    return ec;
  }

  void Sent(beast::error_code ec, bool keep_alive) {
    if (ec == beast::error::timeout) ++shared_->stats.timeouts;
    if (!ec && refused_) return Linger();
    if (ec || !keep_alive) return Close();
    Read();
  }

  // A refused client may send its request after the refusal went out (connect, then
  // write): closing at once would fail that write (EPIPE, or a reset over TCP) before it
  // reads why. So the reply's end is sent and what the client sends is dropped until it
  // closes, for at most kLinger, while few linger; then the connection is closed.
  void Linger() {
    if (shared_->lingering.fetch_add(1) >= kMaxLingering) {
      --shared_->lingering;
      return Close();
    }
    lingering_ = true;
    buffer_.clear();
    Register();
    beast::error_code ignored;
    Lowest().socket().shutdown(asio::socket_base::shutdown_send, ignored);
    Lowest().expires_after(kLinger);
    DropUntilClosed();
  }

  void DropUntilClosed() {
    Lowest().async_read_some(buffer_.prepare(kLingerChunk),
                             [self = this->shared_from_this()](beast::error_code ec, size_t) {
                               if (ec) return self->Close();
                               self->DropUntilClosed();
                             });
  }

  // Frees its place in the connection table before the client can see the close, so a
  // client that connects once it has seen it finds the place free (not only once this
  // session's last handler, on its own thread, has let it go).
  void Close() {
    LeaveTable();
    if (unregistered_) {  // no child holds it: descriptors are made close-on-exec
      ::close(std::exchange(unregistered_, std::nullopt)->fd);
      return;
    }
    beast::error_code ignored;
    Lowest().socket().shutdown(asio::socket_base::shutdown_both, ignored);
    Lowest().close();
  }

  void LeaveTable() {
    if (!limit_key_.empty()) shared_->connections.Leave(limit_key_);
    limit_key_.clear();
  }

  // The connection's descriptor, registered with the io_context or not.
  int Descriptor() { return unregistered_ ? unregistered_->fd : Lowest().socket().native_handle(); }

  // Registers the descriptor with the io_context before anything waits on it. If that fails,
  // the descriptor is closed and the wait fails at once, as on a closed connection.
  void Register() {
    if (!unregistered_) return;
    auto [fd, protocol] = *std::exchange(unregistered_, std::nullopt);
    ++shared_->stats.registered;
    beast::error_code ec;
    if (Lowest().socket().assign(protocol, fd, ec)) ::close(fd);
  }

  Stream stream_;
  // A plain connection's descriptor until Register: a request read, answered and closed
  // at once never joins the io_context's epoll set (no epoll_ctl to add or delete it, no
  // FIONBIO, no timer, no shutdown).
  struct Unregistered {
    int fd;
    Protocol protocol;
  };
  std::optional<Unregistered> unregistered_;
  beast::flat_buffer buffer_{kMaxBufferedBytes};
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  const std::shared_ptr<Shared> shared_;
  const size_t shard_;
  const std::string peer_;
  std::string identity_;
  std::string limit_key_;              // "" once it has left the table
  uint64_t waiting_ticket_ = 0;        // non-zero while waiting for a request head
  bool answered_on_listener_ = false;  // its first read was answered on the listeners' shard
  bool refused_ = false;               // it was answered with a refusal, and only that
  bool lingering_ = false;             // counted in shared_->lingering
  int reads_on_listener_ = 0;          // requests (or closes) read for on the listeners' shard
  std::weak_ptr<AwaitingClose> awaiting_close_;  // its listener's, while on its bare descriptor
  // A deferred reply not yet due.
  struct Parked {
    uint64_t generation;
    std::function<HttpResponse()> answer;
    asio::thread_pool* pool;  // where the answer is computed
    unsigned version;
    bool keep_alive;
    uint64_t watch;  // in shared_->watches
  };
  std::optional<Parked> parked_;
  uint64_t park_generation_ = 0;
  asio::steady_timer park_timer_{stream_.get_executor()};
  // The head deadline (StartHeadDeadline): while awaiting_head_, the head read is pending.
  asio::steady_timer head_timer_{stream_.get_executor()};
  asio::steady_timer::time_point head_deadline_;
  bool awaiting_head_ = false;
  bool head_timer_armed_ = false;
  asio::steady_timer peer_recheck_{stream_.get_executor()};
};

// Who a new connection's client is.
struct Client {
  std::string peer;      // "unix" or the TCP peer's address
  std::string key;       // what the per-peer limit counts: the address, or a unix process
  std::string identity;  // for a plain stream; a TLS one learns it in the handshake
};

// A unix client, from one SO_PEERCRED: the socket is root-only, so normally root.
Client UnixClient(int fd) {
  struct ucred cred {};
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
    return {"unix", "unix", "unknown via unix socket"};
  return {"unix", "process " + std::to_string(cred.pid),
          cred.uid == 0 ? "root via unix socket"
                        : "uid " + std::to_string(cred.uid) + " via unix socket"};
}

// Counts `session` as waiting from now (where it was accepted), then starts it
// on its own thread: here when that is the accepting thread.
template <class S>
void Launch(std::shared_ptr<S> session, size_t shard, std::optional<HttpResponse> refusal) {
  if (!refusal) session->Accepted();
  if (shard == kListenerShard) return session->Start(std::move(refusal));
  auto ex = session->executor();
  asio::post(ex, [session = std::move(session), refusal = std::move(refusal)]() mutable {
    session->Start(std::move(refusal));
  });
}

// Whether accept4's error passes by itself (no connection after all, or one the client gave
// up), as opposed to one that lasts, such as running out of descriptors.
bool PassingAcceptError(int error) {
  return error == EAGAIN || error == EWOULDBLOCK || error == EINTR || error == ECONNABORTED ||
         error == EPROTO;
}

// Accepts on the listeners' shard, where a plain connection's session begins. That thread
// answers only a first request the handler says it answers at once (ServerOptions::
// answers_at_once), so a client that connects once per request wakes no other thread; a
// read that may wait (xenstore stalled) runs elsewhere and never stops accepting.
// Connections are accepted by hand (accept4), close-on-exec and non-blocking from the start,
// and a plain one is served on its bare descriptor until it must wait (Session::Register).
template <class Protocol>
class Listener : public std::enable_shared_from_this<Listener<Protocol>> {
 public:
  // The acceptor is on the listeners' shard.
  Listener(typename Protocol::acceptor acceptor, std::shared_ptr<Shared> shared)
      : acceptor_(std::move(acceptor)),
        protocol_(acceptor_.local_endpoint().protocol()),
        retry_(*shared->contexts[kListenerShard]),
        awaiting_close_(std::make_shared<AwaitingClose>(*shared->contexts[kListenerShard],
                                                        shared->options.awaiting_close_tick)),
        shared_(std::move(shared)) {
    acceptor_.non_blocking(true);  // a wake with no connection waiting must not block
  }

  void Accept() {
    acceptor_.async_wait(asio::socket_base::wait_read,
                         [self = this->shared_from_this()](beast::error_code ec) {
                           if (ec == asio::error::operation_aborted) return;
                           if (ec) return self->AcceptLater();
                           self->AcceptOne();
                         });
  }

  void Cancel() {
    beast::error_code ignored;
    acceptor_.close(ignored);
    retry_.cancel();
  }

 private:
  // One connection per wake: re-arming the wait finds any other already waiting, so
  // connections take turns with the rest of the thread's work.
  void AcceptOne() {
    awaiting_close_->Sweep();  // first, as a client that connects again has mostly closed
    int fd = ::accept4(acceptor_.native_handle(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0)
      Serve(fd);
    else if (!PassingAcceptError(errno))
      return AcceptLater();  // out of descriptors, say: pause, not spin
    Accept();
  }

  void AcceptLater() {
    ++shared_->stats.accept_errors;
    retry_.expires_after(kAcceptRetry);
    retry_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (!ec && self->acceptor_.is_open()) self->Accept();
    });
  }

  void Serve(int fd) {
    ++shared_->stats.connections;
    Client client = ClientOf(fd);
    if constexpr (std::is_same_v<Protocol, tcp>) {
      if (!shared_->options.hosts_allow.Allows(client.peer))
        return Open(fd, client, "",
                    XendError(403, "client " + client.peer + " is not in xend-hosts-allow"));
    }
    switch (shared_->connections.Admit(client.key)) {
      case ConnectionTable::Admission::kPeerFull:
        return Open(
            fd, client, "",
            XendError(503, "too many connections from this client (" + client.key + "; limit " +
                               std::to_string(shared_->options.max_connections_per_peer) + ")"));
      case ConnectionTable::Admission::kFull:
        return Open(fd, client, "", XendError(503, "too many connections"));
      case ConnectionTable::Admission::kAdmitted:
        Open(fd, client, client.key, std::nullopt);
    }
  }

  // Starts the connection's session: a plain one here, on the listeners' shard, which
  // answers its first request or moves it on (Session::OnListenerShard); a TLS one on the
  // session shard PlaceSession picks, as its handshake alone is more than a quick read.
  // `key` is what the connection table counted it under; "" if not admitted.
  void Open(int fd, const Client& client, const std::string& key,
            std::optional<HttpResponse> refusal) {
    if constexpr (std::is_same_v<Protocol, tcp>) {
      if (shared_->tls) return OpenTls(fd, client, key, std::move(refusal));
    }
    using Plain = beast::basic_stream<Protocol>;
    auto& here = *shared_->contexts[kListenerShard];
    ++shared_->loads[kListenerShard].sessions;
    auto session =
        std::make_shared<Session<Plain>>(Plain(typename Protocol::socket(here)), shared_,
                                         kListenerShard, client.peer, client.identity, key);
    session->TakeDescriptor(fd, protocol_, awaiting_close_);
    Launch(std::move(session), kListenerShard, std::move(refusal));
  }

  void OpenTls(int fd, const Client& client, const std::string& key,
               std::optional<HttpResponse> refusal) {
    size_t shard = shared_->PlaceSession();
    ++shared_->stats.registered;
    auto socket = Adopt<tcp::socket>(fd, protocol_, *shared_->contexts[shard]);
    if (!socket) {  // the connection is dropped
      --shared_->loads[shard].sessions;
      if (!key.empty()) shared_->connections.Leave(key);
      return;
    }
    Launch(std::make_shared<Session<TlsStream>>(TlsStream(std::move(*socket), *shared_->tls),
                                                shared_, shard, client.peer, "", key),
           shard, std::move(refusal));
  }

  static Client ClientOf(int fd) {
    if constexpr (std::is_same_v<Protocol, tcp>) {
      tcp::endpoint ep;
      socklen_t len = static_cast<socklen_t>(ep.capacity());
      bool known = ::getpeername(fd, ep.data(), &len) == 0;
      if (known) ep.resize(len);
      std::string address = known ? ep.address().to_string() : std::string("unknown");
      return {address, address, "unauthenticated " + address};
    } else {
      return UnixClient(fd);
    }
  }

  typename Protocol::acceptor acceptor_;
  const Protocol protocol_;
  asio::steady_timer retry_;
  const std::shared_ptr<AwaitingClose> awaiting_close_;
  const std::shared_ptr<Shared> shared_;
};

}  // namespace

// One I/O thread and the io_context only it runs: the listeners' (shard 0) or
// some sessions' whole lives.
struct Shard {
  asio::io_context ioc{1};
  asio::executor_work_guard<asio::io_context::executor_type> idle{ioc.get_executor()};  // runs on
  // Made now, not by the first connection: an io_context opens its epoll set and its
  // wake descriptors on first use, which could be when descriptors have run out (EMFILE).
  asio::steady_timer opens_reactor{ioc};
  std::thread thread;
};

struct HttpServer::Impl {
  // First, so gone last: every other member's handlers and sockets are on them.
  std::vector<std::unique_ptr<Shard>> shards;
  asio::thread_pool workers;
  asio::thread_pool readers;
  asio::thread_pool waiters;
  std::shared_ptr<Shared> shared;
  std::shared_ptr<Listener<local>> unix_listener;
  std::shared_ptr<Listener<tcp>> tcp_listener;
  uint16_t tcp_port = 0;

  Impl(ServerOptions options, Handler handler, size_t io_threads)
      : shards(MakeShards(io_threads)),
        workers(static_cast<size_t>(options.worker_threads)),
        readers(static_cast<size_t>(options.read_worker_threads)),
        waiters(static_cast<size_t>(
            options.wait_path_prefix.empty() ? 1 : options.wait_worker_threads)),
        shared(std::make_shared<Shared>(std::move(options), std::move(handler), workers, readers,
                                        waiters, contexts())) {}

  static std::vector<std::unique_ptr<Shard>> MakeShards(size_t n) {
    std::vector<std::unique_ptr<Shard>> shards;
    for (size_t i = 0; i < n; ++i) shards.push_back(std::make_unique<Shard>());
    return shards;
  }

  asio::io_context& listeners() { return shards[0]->ioc; }

  std::vector<asio::io_context*> contexts() {
    std::vector<asio::io_context*> out;
    for (auto& s : shards) out.push_back(&s->ioc);
    return out;
  }

  void RunAll() {
    for (auto& s : shards) s->thread = std::thread([this, ioc = &s->ioc] { RunIo(*ioc); });
  }

  // Stops every shard and joins its thread; their handlers are dropped when they go.
  void StopAll() {
    for (auto& s : shards) s->ioc.stop();
    for (auto& s : shards)
      if (s->thread.joinable()) s->thread.join();
  }

  // Serves until stopped; an exception out of an I/O handler (a bug) is counted, not fatal.
  void RunIo(asio::io_context& ioc) {
    for (;;) {
      try {
        ioc.run();
        return;
      } catch (const std::exception&) {
        ++shared->stats.exceptions;
      }
    }
  }
};

namespace {

Result<local::acceptor> BindUnix(asio::io_context& ioc, const std::string& path, unsigned mode) {
  ::unlink(path.c_str());  // a stale socket from a previous run
  beast::error_code ec;
  local::acceptor acceptor(ioc);
  acceptor.open(local::endpoint(path).protocol(), ec);
  mode_t old_mask = ::umask(0177);  // never world-accessible, even briefly
  if (!ec) acceptor.bind(local::endpoint(path), ec);
  ::umask(old_mask);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status::Error(ec.value(), "cannot listen on " + path + ": " + ec.message());
  if (::chmod(path.c_str(), mode) != 0) return Status::Error(errno, "cannot chmod " + path);
  return acceptor;
}

// The TCP listener's TLS: TLS 1.2 or later, and a client certificate the CA signed.
Result<std::shared_ptr<asio::ssl::context>> ServerTls(const TlsFiles& files) {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  beast::error_code ec;
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  auto fail = [&](const std::string& what) {
    return Status::Error(EINVAL, "TCP API TLS: " + what + ": " + ec.message());
  };
  if (ctx->use_certificate_chain_file(files.cert_file, ec); ec)
    return fail("certificate " + files.cert_file);
  if (ctx->use_private_key_file(files.key_file, asio::ssl::context::pem, ec); ec)
    return fail("key " + files.key_file);
  if (ctx->load_verify_file(files.ca_file, ec); ec) return fail("CA file " + files.ca_file);
  ctx->set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert, ec);
  if (ec) return fail("verify mode");
  return ctx;
}

Result<tcp::acceptor> BindTcp(asio::io_context& ioc, const TcpEndpoint& where) {
  beast::error_code ec;
  auto address = asio::ip::make_address(where.address, ec);
  if (ec) return Status::Error(EINVAL, "bad listen address '" + where.address + "'");
  tcp::endpoint ep(address, where.port);
  tcp::acceptor acceptor(ioc);
  acceptor.open(ep.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(ep, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return Status::Error(ec.value(), "cannot listen on " + where.address + ":" +
                                         std::to_string(where.port) + ": " + ec.message());
  return acceptor;
}

}  // namespace

Result<std::unique_ptr<HttpServer>> HttpServer::Start(ServerOptions options, Handler handler) {
  if (options.unix_socket.empty() && !options.tcp)
    return Status::Error(EINVAL, "no listener configured (neither unix socket nor TCP)");
  // Two for I/O alone, whatever the reads running on the others do: the listeners'
  // shard, which runs no handler, and a session shard no inline read can take.
  size_t io_threads = 2 + static_cast<size_t>(std::max(0, options.inline_reads));
  auto impl = std::make_unique<Impl>(std::move(options), std::move(handler), io_threads);
  const ServerOptions& opts = impl->shared->options;
  // TCP (with its TLS keys) first: whoever finds the unix socket accepting, as
  // txend's callers and tests wait for it, finds the TCP listener bound too.
  if (opts.tcp) {
    if (opts.tcp_tls) {
      TXEND_ASSIGN_OR_RETURN(impl->shared->tls, ServerTls(*opts.tcp_tls));
    }
    TXEND_ASSIGN_OR_RETURN(auto acceptor, BindTcp(impl->listeners(), *opts.tcp));
    impl->tcp_port = acceptor.local_endpoint().port();
    impl->tcp_listener = std::make_shared<Listener<tcp>>(std::move(acceptor), impl->shared);
    impl->tcp_listener->Accept();
  }
  if (!opts.unix_socket.empty()) {
    TXEND_ASSIGN_OR_RETURN(auto acceptor,
                           BindUnix(impl->listeners(), opts.unix_socket, opts.unix_mode));
    impl->unix_listener = std::make_shared<Listener<local>>(std::move(acceptor), impl->shared);
    impl->unix_listener->Accept();
  }
  impl->RunAll();
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() {
  impl_->workers.join();
  impl_->readers.join();
  impl_->waiters.join();
  impl_->StopAll();
  impl_->shared->watches.DropAll();  // no wake may post to an io_context once it goes
  if (!impl_->shared->options.unix_socket.empty())
    ::unlink(impl_->shared->options.unix_socket.c_str());
}

uint16_t HttpServer::tcp_port() const { return impl_->tcp_port; }
const ServerStats& HttpServer::stats() const { return impl_->shared->stats; }

}  // namespace txend::http
