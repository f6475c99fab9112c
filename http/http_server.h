// HttpServer: serves HTTP/1.1 (and 1.0) on a unix socket and, opt-in, a TCP
// endpoint, handing each decoded request to one Handler on a worker pool (a
// read, while few are in flight, on the I/O thread that read it); a
// handler may answer later (DeferredReply), parking the connection without a
// thread. Built on Boost.Beast. A request head and body each have a deadline; a peer
// may hold only so many connections, and a full server sheds the connection
// that has waited longest for a request; oversized heads and bodies get 431/413.
//
// Threads: 2 + inline_reads I/O threads, each running an io_context of its own.
// The first accepts (unix and TCP). It reads a plain connection's first request at
// once (no timer, no readiness wait, when the client has sent it) and answers it there
// when it is a read the handler answers at once (answers_at_once) and few connections
// are on that thread: a client that connects once per request wakes one thread, not
// two. Otherwise, and at its second request, the connection moves to one of the
// others and lives there, so all of its I/O, its inline reads and the replies posted
// to it run on that thread: no hand-off between I/O threads, no strand. A connection
// goes to the thread with the fewest connections among those not running an inline
// read at that moment. A plain stream's reply is written at once when the socket
// takes it whole, else asynchronously under its deadline.
// Trade-off: an inline read holds up the other connections of its thread while
// it runs (tens of microseconds normally; as long as the xenstore client's
// deadline when xenstore stalls); new clients go elsewhere meanwhile.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "base/result.h"
#include "http/deferred_reply.h"
#include "http/host_allow_list.h"
#include "http/http_message.h"

namespace txend::http {

struct TcpEndpoint {
  std::string address = "127.0.0.1";
  uint16_t port = 8000;  // 0 picks a free port (tests)
};

// The TCP listener's mutual TLS: this server's certificate and key, and the CA
// every client's certificate must chain to (clients without one are refused).
struct TlsFiles {
  std::string cert_file, key_file, ca_file;  // PEM
};

struct ServerOptions {
  std::string unix_socket;          // empty: no unix listener
  unsigned unix_mode = 0600;        // root-only by default
  std::optional<TcpEndpoint> tcp;   // off unless set
  HostAllowList hosts_allow;        // TCP clients only
  std::optional<TlsFiles> tcp_tls;  // set: TCP is HTTPS with client certificates
  // Where refusals the handler never sees are told (a failed TLS handshake); optional.
  std::function<void(const std::string&)> log;
  size_t max_body_bytes = 1 << 20;
  size_t max_connections = 512;
  size_t max_connections_per_peer = 64;  // per TCP address or unix client process; 0: no limit
  // From waiting for a request (an idle keep-alive connection included) to its whole head.
  std::chrono::milliseconds header_timeout{10000};
  std::chrono::milliseconds body_timeout{30000};   // the whole body, once the head is in
  std::chrono::milliseconds write_timeout{30000};  // a whole reply
  int worker_threads = 8;       // run requests that may change things (POST, ...)
  int read_worker_threads = 4;  // run GET and HEAD, so reads never queue behind slow changes
  // Up to this many GETs and HEADs at once run on the I/O thread that read them (no hand-off
  // to a worker and back: two thread switches fewer each); there are this many I/O threads
  // more than the two that always stay free for I/O (the listeners' and one that serves
  // connections). Further reads go to the read workers.
  int inline_reads = 4;
  // Requests whose target starts with this ("" none) wait for something to
  // happen (long polls): their handler and their deferred reply run on a pool
  // of their own, so they never hold up reads or changes. A parked long poll
  // holds no thread: the pool only computes replies.
  std::string wait_path_prefix;
  int wait_worker_threads = 2;
  // Whether the handler answers this read (GET or HEAD) at once, waiting for nothing
  // (xenstore included) and in microseconds; unset: none is. The accepting thread runs
  // such a read itself when it is a connection's first. A wrong "yes" holds up accepting
  // for as long as the read takes. Runs on the accepting thread: keep it cheap.
  std::function<bool(const HttpRequest&)> answers_at_once;
  // A connection such a read was answered on, and whose close has not come, stays off the
  // event loops for one to two of these before it waits registered (AwaitingClose).
  std::chrono::milliseconds awaiting_close_tick{1};
};

// Counters, readable while serving.
struct ServerStats {
  std::atomic<uint64_t> connections{0};
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> error_replies{0};  // 4xx/5xx
  std::atomic<uint64_t> refused{0};        // not in hosts-allow, or too many connections
  std::atomic<uint64_t> timeouts{0};       // head, body or reply not through in time
  std::atomic<uint64_t> evicted{0};        // shed, waiting for a request, to admit a new client
  std::atomic<uint64_t> accept_errors{0};  // e.g. EMFILE; accepting resumes after a pause
  std::atomic<uint64_t> exceptions{0};     // caught at the edge of a handler (a bug)
  std::atomic<uint64_t> abandoned{0};      // deferred replies whose client went away first
  std::atomic<uint64_t> answered_on_accept{0};  // first reads the accepting thread answered
  // Connections registered with an I/O thread's event loop: to wait, to move, or TLS. One
  // whose first read was answered at once, and which then closed, never is.
  std::atomic<uint64_t> registered{0};
  // Head deadline timers armed: about one per connection that waits for a head, however
  // many requests it sends within a header_timeout.
  std::atomic<uint64_t> head_timers_armed{0};
};

class HttpServer {
 public:
  // Runs on a worker thread; may block (toolstack operations do), but should
  // not block to wait for news: return a DeferredReply instead.
  using Handler = std::function<HandlerReply(const HttpRequest&)>;

  // Binds every listener, then serves on background threads.
  static Result<std::unique_ptr<HttpServer>> Start(ServerOptions options, Handler handler);
  ~HttpServer();  // stops and joins; parked replies are dropped unsent

  // The bound TCP port (useful when 0 was asked for); 0 when TCP is off.
  uint16_t tcp_port() const;
  const ServerStats& stats() const;

  struct Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace txend::http
