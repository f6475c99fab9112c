// Connection: one client connection to a xenstore daemon (xsd or any stock
// xenstored) over its unix socket. It moves messages and matches replies; it
// offers no reads or writes of nodes — those need a Snapshot or Transaction
// (transaction.h), so every store access names its transaction.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "wire/wire.h"

namespace txend::xs {

// One request: type, transaction id (0 = none) and payload.
struct Request {
  wire::MsgType type;
  uint32_t tx_id = 0;
  std::string payload;
};

struct ConnectionOptions {
  // A call whose reply has not come in this long fails with ETIMEDOUT (a stuck daemon).
  std::chrono::milliseconds call_timeout{30000};
  // How long callers must have been quiet before the connection's own thread reads the socket
  // (watch events while nobody calls); connection.cc says why 3 ms.
  std::chrono::milliseconds quiet_after{3};
};

// Called on the connection's event thread for each WATCH_EVENT of a watch.
using WatchCallback = std::function<void(const std::string& path, const std::string& token)>;

// Where a watch's callback runs. kReader: on whichever thread reads the socket
// (a caller reading its own reply, or the connection's own thread while no
// one calls), before any reply that arrives after the event is handed over —
// so once a later request's reply is in (Sync), the callback has run. It must
// be short, must not call the connection (it would wait for itself) and must
// not wait for a lock that is held across a call.
enum class WatchDelivery { kEventThread, kReader };

class Watch;

// Thread-safe: any number of threads may call at once. Requests go out in call
// order. A caller reads the socket itself until its reply is in, handing
// others' replies and watch events on as it goes (no thread hop per round
// trip); while no one has called for a while, the connection's own thread reads.
class Connection {
 public:
  // Connects to `socket_path`; if empty, to $XENSTORED_PATH, else /run/xenstored/socket.
  static Result<std::unique_ptr<Connection>> Open(std::string socket_path = "",
                                                  ConnectionOptions options = {});
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Sends one request and waits for its reply payload; an ERROR reply becomes
  // a Status carrying the errno it names; no reply within the call timeout, ETIMEDOUT.
  Result<std::string> Call(wire::MsgType type, uint32_t tx_id, std::string_view payload);
  // Pipelining: sends every request in one write, then collects the replies in order.
  std::vector<Result<std::string>> CallMany(std::span<const Request> requests);

  // Registers a watch on `path` (a path or @introduceDomain/@releaseDomain).
  // The daemon fires one event straight away. Unregistered when the Watch dies.
  Result<Watch> AddWatch(const std::string& path, WatchCallback callback,
                         WatchDelivery delivery = WatchDelivery::kEventThread);
  // One cheap round trip: every watch event the daemon queued for this
  // connection before it received this request has been read when it returns
  // (kReader callbacks have run). A daemon queues the events of a write before
  // acknowledging it, so after Sync a kReader watch has seen every write
  // acknowledged, to any client, before Sync began.
  Status Sync();
  // The daemon's write generation (wire/write_generation.h), read from its page
  // without a round trip or a system call: every write it acknowledged, to any
  // client, raised it before the acknowledgement left. nullopt when the daemon
  // shares none (the stock daemons), the page is not this peer's, or the reader
  // thread has seen the connection end (microseconds after the daemon goes; until
  // then the page still holds the dead daemon's last generation, which is exact).
  std::optional<uint64_t> PublishedWriteGeneration() const;

  // Domain management (privileged callers only).
  Status Introduce(uint32_t domid, uint64_t store_mfn, uint32_t store_port);
  Status Release(uint32_t domid);
  Result<bool> IsDomainIntroduced(uint32_t domid);
  Result<std::string> GetDomainPath(uint32_t domid);
  Status Resume(uint32_t domid);
  // CONTROL <args...>: the daemon's reply text (e.g. Control({"stats"})).
  Result<std::string> Control(const std::vector<std::string>& args);

  // False once the daemon closed the connection; every call then fails with ECONNRESET.
  bool alive() const;
  // Runs `callback` once, on the connection's own thread, if the daemon closes the
  // connection (a crash or restart of xenstored); not when this object closes it.
  void OnClosed(std::function<void()> callback);

  struct Impl;

 private:
  explicit Connection(std::unique_ptr<Impl> impl);
  friend class Watch;
  std::unique_ptr<Impl> impl_;
};

// A registered watch; UNWATCHes when destroyed. Destroying it waits for a
// callback in flight on another thread; from a callback it returns at once.
class Watch {
 public:
  Watch(Watch&& other) noexcept;
  Watch& operator=(Watch&& other) noexcept;
  ~Watch();
  const std::string& path() const { return path_; }
  const std::string& token() const { return token_; }

 private:
  friend class Connection;
  Watch(Connection* conn, std::string path, std::string token);
  void Release();
  Connection* conn_ = nullptr;
  std::string path_;
  std::string token_;
};

}  // namespace txend::xs
