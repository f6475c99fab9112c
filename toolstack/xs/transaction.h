// Transaction contexts: the only way to read or write xenstore nodes.
// A Snapshot is a read-only transaction (never conflicts); a Transaction
// reads and writes and must be committed. Each costs exactly one
// TRANSACTION_START on the daemon, so the cost of an operation is visible
// in its signature. Retries on conflict happen in one place: RunTransaction.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "base/result.h"
#include "toolstack/xs/connection.h"
#include "wire/perm.h"

namespace txend::xs {

using wire::Access;
using wire::MakePerms;
using wire::Perm;
using wire::Perms;

// Reads shared by Snapshot and Transaction, all inside the context's transaction.
class ReadContext {
 public:
  Result<std::string> Read(std::string_view path);
  // nullopt when the node does not exist.
  Result<std::optional<std::string>> ReadIfExists(std::string_view path);
  // Child names; large directories are fetched with DIRECTORY_PART.
  Result<std::vector<std::string>> Directory(std::string_view path);
  // Child names, or an empty list when `path` does not exist.
  Result<std::vector<std::string>> DirectoryIfExists(std::string_view path);
  Result<Perms> GetPerms(std::string_view path);

  // Pipelined: every request in one write, replies in order. ENOENT entries
  // come back as errors in place; the call itself never fails as a whole.
  std::vector<Result<std::string>> ReadMany(std::span<const std::string> paths);
  std::vector<Result<std::vector<std::string>>> DirectoryMany(std::span<const std::string> paths);

  uint32_t id() const { return tx_id_; }

 protected:
  ReadContext(Connection* conn, uint32_t tx_id) : conn_(conn), tx_id_(tx_id) {}
  ReadContext(ReadContext&& other) noexcept;
  ReadContext& operator=(ReadContext&& other) noexcept;
  ~ReadContext() = default;
  // Sends TRANSACTION_END; the context is closed afterwards.
  Status End(bool commit);
  bool open() const { return conn_ != nullptr && tx_id_ != 0; }

  Connection* conn_;
  uint32_t tx_id_;

 private:
  Result<std::vector<std::string>> DirectoryByParts(std::string_view path);
};

// A consistent read-only view of the store. Ends (without commit) when destroyed.
class Snapshot : public ReadContext {
 public:
  static Result<Snapshot> Begin(Connection& conn);
  Snapshot(Snapshot&&) noexcept = default;
  Snapshot& operator=(Snapshot&&) noexcept = default;
  ~Snapshot();

 private:
  using ReadContext::ReadContext;
};

// A read-write transaction. Aborted when destroyed without Commit().
class Transaction : public ReadContext {
 public:
  static Result<Transaction> Begin(Connection& conn);
  Transaction(Transaction&&) noexcept = default;
  Transaction& operator=(Transaction&&) noexcept = default;
  ~Transaction();

  Status Write(std::string_view path, std::string_view value);
  Status Mkdir(std::string_view path);
  Status SetPerms(std::string_view path, const Perms& perms);

  // One node to write, optionally with permissions set right after.
  struct NodeWrite {
    std::string path;
    std::string value;
    std::optional<Perms> perms;
  };
  // Pipelined writes (and SET_PERMS) in one round of I/O; the first error wins.
  Status WriteMany(std::span<const NodeWrite> writes);
  // Pipelined RMs; with `missing_ok`, a path whose parent is gone is not an error.
  Status RmMany(std::span<const std::string> paths, bool missing_ok = false);

  // Commits. EAGAIN means another commit changed what this one read or wrote:
  // the caller re-runs its whole body (RunTransaction does exactly that).
  [[nodiscard]] Status Commit();
  void Abort();

 private:
  using ReadContext::ReadContext;
};

// Runs `body(Transaction&)` in a new transaction and commits it. On EAGAIN the
// whole body runs again in a fresh transaction, up to `attempts` times. `body`
// returns Status or Result<T>; its error aborts the transaction and is returned.
template <typename Body>
auto RunTransaction(Connection& conn, Body&& body, int attempts = 16)
    -> std::invoke_result_t<Body&, Transaction&> {
  using R = std::invoke_result_t<Body&, Transaction&>;
  Status last =
      Status::Error(EAGAIN, "transaction conflicted " + std::to_string(attempts) + " times");
  for (int i = 0; i < attempts; ++i) {
    auto tx = Transaction::Begin(conn);
    if (!tx.ok()) return R(tx.status());
    R result = body(*tx);
    if constexpr (std::is_same_v<R, Status>) {
      if (!result.ok()) return result;
    } else {
      if (!result.ok()) return result.status();
    }
    Status committed = tx->Commit();
    if (committed.ok()) return result;
    if (committed.code() != EAGAIN) return R(committed);
  }
  return R(last);
}

}  // namespace txend::xs
