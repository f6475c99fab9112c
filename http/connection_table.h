// ConnectionTable: the HTTP server's open connections, counted per peer (a TCP
// client's address, a unix client's process), and which of them are waiting
// for a request head — oldest first, the ones a full server sheds so that a
// new client is still served while slow clients hold every slot.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "base/mutex.h"

namespace txend::http {

// A connection the table may shed while it waits for a request.
class Evictable {
 public:
  virtual ~Evictable() = default;
  // Closes the connection if it still waits for the request it waited for
  // when `ticket` was issued. Called from any thread; must not block.
  virtual void Evict(uint64_t ticket) = 0;
};

class ConnectionTable {
 public:
  struct Limits {
    size_t total = 512;
    size_t per_peer = 64;  // 0: no per-peer limit
  };
  explicit ConnectionTable(Limits limits) : limits_(limits) {}

  enum class Admission { kAdmitted, kPeerFull, kFull };
  // Counts a new connection from `peer`. A full table first sheds the
  // connection that has waited longest for a request head; kFull when none waits.
  Admission Admit(const std::string& peer) LOCKS_EXCLUDED(mu_);
  // Uncounts an admitted connection when it closes.
  void Leave(const std::string& peer) LOCKS_EXCLUDED(mu_);

  // Marks a connection as waiting for a request head; the ticket ends the wait.
  uint64_t StartWaiting(std::weak_ptr<Evictable> connection) LOCKS_EXCLUDED(mu_);
  void StopWaiting(uint64_t ticket) LOCKS_EXCLUDED(mu_);

  size_t open() const LOCKS_EXCLUDED(mu_);
  size_t waiting() const LOCKS_EXCLUDED(mu_);

 private:
  const Limits limits_;
  mutable Mutex mu_;
  size_t open_ GUARDED_BY(mu_) = 0;
  std::map<std::string, size_t> per_peer_ GUARDED_BY(mu_);
  // Tickets are issued in order, so the first entry has waited longest.
  std::map<uint64_t, std::weak_ptr<Evictable>> waiting_ GUARDED_BY(mu_);
  uint64_t next_ticket_ GUARDED_BY(mu_) = 1;
};

}  // namespace txend::http
