// Xenstore: the daemon's state and the meaning of every request — store,
// transactions, permissions, quotas, watches, domains, statistics. Pure: it
// takes decoded messages and returns the bytes to send, so it is tested and
// fuzzed without sockets. Transports (server.h) feed it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "wire/wire.h"
#include "xsd/domain_registry.h"
#include "xsd/journal.h"
#include "xsd/quota.h"
#include "xsd/stats.h"
#include "xsd/transaction.h"
#include "xsd/transaction_deadlines.h"
#include "xsd/tree.h"
#include "xsd/watch_registry.h"

namespace txend::xsd {

// INTRODUCE's arguments: the domain and where its ring page and event channel are.
struct Introduction {
  uint32_t domid = 0;
  uint64_t mfn = 0;
  uint32_t port = 0;
  bool operator==(const Introduction&) const = default;
};

// What handling requests produced for the transports.
struct Outbox {
  std::vector<std::pair<ConnId, std::string>> messages;  // encoded replies and watch events
  std::vector<Introduction> introduced;  // INTRODUCEd domains' rings to serve (again)
  std::vector<uint32_t> released;        // released or dead domains to stop serving
  void Clear() {                         // empty, with the capacity kept
    messages.clear();
    introduced.clear();
    released.clear();
  }
};

class Xenstore {
 public:
  using Clock = std::chrono::steady_clock;

  // `journal` (optional) has already loaded `tree`. Without a journal the
  // store starts with the standard top-level nodes.
  Xenstore(Quota quota, std::unique_ptr<Journal> journal = nullptr,
           std::optional<Tree> tree = std::nullopt);

  // A new connection speaking for domain `domid`; dom0 connections are privileged.
  ConnId Connect(uint32_t domid);
  // Drops the connection's transactions and watches.
  void Disconnect(ConnId conn);
  void Handle(ConnId conn, const wire::Message& msg, Outbox& out);
  // The transport of an introduced domain died (or its domain did): fires
  // @releaseDomain once per incarnation.
  void DomainGone(uint32_t domid, Outbox& out);
  // A domain's channel (re)connected: it is alive, and a later loss counts again.
  void DomainConnected(uint32_t domid);
  // The domain no longer exists (the hypervisor says so): released as by
  // RELEASE, @releaseDomain fires. Nothing if it was not introduced.
  void DomainDied(uint32_t domid, Outbox& out);
  // Introduced domains other than dom0.
  std::vector<uint32_t> IntroducedDomains() const;
  // Drops unprivileged transactions open longer than the quota allows; their
  // ids answer EAGAIN until the client ends them.
  void ExpireTransactions();
  // When the next transaction will be due to expire, if any is open.
  std::optional<Clock::time_point> NextTransactionDeadline() const { return deadlines_.Next(); }
  // The time source (tests pass a fake one).
  void set_clock(std::function<Clock::time_point()> clock) { clock_ = std::move(clock); }

  // Makes committed changes durable (group commit); compacts when due. An
  // error means commits already answered in memory could not be made durable.
  Status Sync();
  // True when a commit awaits Sync(): until then no reply may leave, since it
  // could acknowledge or show a change that is not yet durable.
  bool unsynced() const;

  // The transport dropped a misbehaving client (counted in stats).
  void CountDroppedConnection() { ++stats_.connections_dropped; }
  // The counters the transport keeps (refused connections, throttling, accept pauses).
  Stats& counters() { return stats_; }
  // Where CONTROL log/print output goes (the daemon's log); none by default.
  void set_log(std::function<void(const std::string&)> log) { log_ = std::move(log); }
  // Opens where an INTRODUCEd domain's connections arrive (the server's domain
  // socket) before INTRODUCE succeeds; its error is INTRODUCE's. None by default.
  void set_open_domain(std::function<Status(uint32_t domid)> open) {
    open_domain_ = std::move(open);
  }
  // Raised by every write and commit (before its reply exists); never lowered.
  uint64_t write_generation() const { return stamp_; }
  Quota& quota() { return quota_; }
  const Tree& tree() const { return tree_; }
  const Stats& stats() const { return stats_; }
  Gauges gauges() const;
  bool persistent() const { return journal_ != nullptr; }
  // True while a journal compaction runs on its thread.
  bool compacting() const;
  // True while the journal refuses commits (a full disk, an I/O error).
  bool degraded() const { return degraded_; }

 private:
  // A transaction a session has open, and what the daemon keeps about it.
  struct OpenTransaction {
    Transaction tx;
    std::optional<Clock::time_point> deadline;  // unprivileged sessions only
    size_t charged = 0;  // tx.bytes() as counted in its domain's transaction_bytes
  };
  struct Session {
    uint32_t domid = 0;
    std::map<uint32_t, OpenTransaction> transactions;
    std::set<uint32_t> expired;  // dropped at their deadline, not yet ended by the client
  };
  using Reply = Result<std::string>;

  Reply Dispatch(Session& s, ConnId conn, const wire::Message& m, Outbox& out,
                 std::vector<std::string>& after_reply);
  Reply DoRead(Session& s, const wire::Message& m);
  Reply DoGetPerms(Session& s, const wire::Message& m);
  Reply DoDirectory(Session& s, const wire::Message& m);
  Reply DoDirectoryPart(Session& s, const wire::Message& m);
  Reply DoWrite(Session& s, const wire::Message& m, Outbox& out);
  Reply DoMkdir(Session& s, const wire::Message& m, Outbox& out);
  Reply DoRm(Session& s, const wire::Message& m, Outbox& out);
  Reply DoSetPerms(Session& s, const wire::Message& m, Outbox& out);
  Reply DoWatch(Session& s, ConnId conn, const wire::Message& m,
                std::vector<std::string>& after_reply);
  Reply DoUnwatch(Session& s, ConnId conn, const wire::Message& m);
  Reply DoTransactionStart(Session& s, ConnId conn, const wire::Message& m);
  Reply DoTransactionEnd(Session& s, ConnId conn, const wire::Message& m, Outbox& out);
  // A request inside a transaction of an unprivileged domain whose open
  // transactions hold more than the quota is refused; what it adds is charged.
  Reply DispatchCharged(Session& s, ConnId conn, const wire::Message& m, Outbox& out,
                        std::vector<std::string>& after_reply);
  // Forgets an open transaction's deadline and memory charge (it ends or expires).
  void Release(Session& s, ConnId conn, uint32_t id, OpenTransaction& open);
  Reply DoIntroduce(const wire::Message& m, Outbox& out);
  Reply DoRelease(const wire::Message& m, Outbox& out);
  Reply DoResume(const wire::Message& m);
  Reply DoSetTarget(const wire::Message& m);
  Reply DoControl(const wire::Message& m);

  struct Requester WhoIs(const Session& s) const;
  Result<std::string> PathArg(const Session& s, std::string_view raw, bool allow_special) const;
  Result<Transaction*> TransactionOf(Session& s, const wire::Message& m);
  const Tree& View(Transaction* tx) const { return tx ? tx->tree() : tree_; }
  Status CheckWritable(const Session& s, const Tree& view, const std::string& path) const;
  Result<const Node*> Readable(const Session& s, Transaction* tx, const std::string& path) const;
  // Applies one mutation: inside `tx`, or at once as its own commit.
  Status Mutate(Session& s, Transaction* tx, Op op, Outbox& out);
  // Replays committed ops onto the live tree, then journals, accounts and fires
  // watches. ENOSPC/EIO (and the tree unchanged) when the journal refuses them.
  Status Publish(std::span<const Op> ops, Outbox& out);
  void FireWatches(const Op& op, const wire::Perms& perms, Outbox& out);
  Status RefuseCommit(const Status& why);
  void PersistenceRecovered();
  void FireSpecial(const std::string& name, Outbox& out);
  void DropSessionState(Session& s, ConnId conn);
  void RefreshDiskStats();

  Quota quota_;
  std::unique_ptr<Journal> journal_;
  Tree tree_;
  uint64_t stamp_ = 1;
  uint32_t next_tx_id_ = 1;
  ConnId next_conn_ = 1;
  std::map<ConnId, Session> sessions_;
  WatchRegistry watches_;
  DomainRegistry domains_;
  TransactionDeadlines deadlines_;
  std::function<Clock::time_point()> clock_ = [] { return Clock::now(); };
  Stats stats_;
  std::function<void(const std::string&)> log_;
  std::function<Status(uint32_t domid)> open_domain_;
  bool logging_ = true;
  bool degraded_ = false;
};

}  // namespace txend::xsd
