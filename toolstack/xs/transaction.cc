#include "toolstack/xs/transaction.h"

#include "base/numbers.h"

namespace txend::xs {
namespace {

using wire::FormatPerm;
using wire::MsgType;
using wire::ParsePerm;

std::string PathPayload(std::string_view path) { return wire::JoinFields({path}); }

std::vector<std::string> ToStrings(const std::vector<std::string_view>& views) {
  return std::vector<std::string>(views.begin(), views.end());
}

Status ClosedError() { return Status::Error(EINVAL, "transaction context already ended"); }

Status FirstError(const std::vector<Result<std::string>>& replies) {
  for (const auto& r : replies)
    if (!r.ok()) return r.status();
  return Status::Ok();
}

}  // namespace

ReadContext::ReadContext(ReadContext&& other) noexcept
    : conn_(std::exchange(other.conn_, nullptr)), tx_id_(std::exchange(other.tx_id_, 0)) {}

ReadContext& ReadContext::operator=(ReadContext&& other) noexcept {
  if (this != &other) {
    if (open()) (void)End(false);
    conn_ = std::exchange(other.conn_, nullptr);
    tx_id_ = std::exchange(other.tx_id_, 0);
  }
  return *this;
}

Result<std::string> ReadContext::Read(std::string_view path) {
  if (!open()) return ClosedError();
  return conn_->Call(MsgType::kRead, tx_id_, PathPayload(path));
}

Result<std::optional<std::string>> ReadContext::ReadIfExists(std::string_view path) {
  auto r = Read(path);
  if (r.ok()) return std::optional<std::string>(std::move(r).value());
  if (r.status().code() == ENOENT) return std::optional<std::string>();
  return r.status();
}

Result<std::vector<std::string>> ReadContext::Directory(std::string_view path) {
  if (!open()) return ClosedError();
  auto r = conn_->Call(MsgType::kDirectory, tx_id_, PathPayload(path));
  if (!r.ok() && r.status().code() == E2BIG) return DirectoryByParts(path);
  if (!r.ok()) return r.status();
  return ToStrings(wire::SplitFields(*r));
}

Result<std::vector<std::string>> ReadContext::DirectoryIfExists(std::string_view path) {
  auto r = Directory(path);
  if (!r.ok() && r.status().code() == ENOENT) return std::vector<std::string>();
  return r;
}

// DIRECTORY_PART: "<path>\0<offset>\0" -> "<gencnt>\0<child>\0...<child>\0[\0]".
// The final part ends with an extra NUL. A changed generation count means the
// directory changed under us: start again.
Result<std::vector<std::string>> ReadContext::DirectoryByParts(std::string_view path) {
  for (int attempt = 0; attempt < 8; ++attempt) {
    std::string all;
    std::string generation;
    bool restart = false;
    while (true) {
      auto r = conn_->Call(MsgType::kDirectoryPart, tx_id_,
                           wire::JoinFields({path, std::to_string(all.size())}));
      if (!r.ok()) return r.status();
      size_t nul = r->find('\0');
      if (nul == std::string::npos) return Status::Error(EPROTO, "bad DIRECTORY_PART reply");
      std::string gen = r->substr(0, nul);
      if (generation.empty()) generation = gen;
      if (gen != generation) {
        restart = true;
        break;
      }
      std::string_view part = std::string_view(*r).substr(nul + 1);
      bool last = part.empty() || part == std::string_view("\0", 1) ||
                  (part.size() >= 2 && part.substr(part.size() - 2) == std::string_view("\0\0", 2));
      all.append(part.substr(0, last && !part.empty() ? part.size() - 1 : part.size()));
      if (last) break;
    }
    if (!restart) return ToStrings(wire::SplitFields(all));
  }
  return Status::Error(EAGAIN, "directory " + std::string(path) + " kept changing while listed");
}

Result<Perms> ReadContext::GetPerms(std::string_view path) {
  if (!open()) return ClosedError();
  TXEND_ASSIGN_OR_RETURN(std::string reply,
                         conn_->Call(MsgType::kGetPerms, tx_id_, PathPayload(path)));
  Perms perms;
  for (auto field : wire::SplitFields(reply)) {
    TXEND_ASSIGN_OR_RETURN(Perm p, ParsePerm(field));
    perms.push_back(p);
  }
  return perms;
}

std::vector<Result<std::string>> ReadContext::ReadMany(std::span<const std::string> paths) {
  if (!open()) return std::vector<Result<std::string>>(paths.size(), ClosedError());
  std::vector<Request> requests;
  requests.reserve(paths.size());
  for (const auto& p : paths) requests.push_back({MsgType::kRead, tx_id_, PathPayload(p)});
  return conn_->CallMany(requests);
}

std::vector<Result<std::vector<std::string>>> ReadContext::DirectoryMany(
    std::span<const std::string> paths) {
  std::vector<Result<std::vector<std::string>>> out;
  if (!open()) {
    out.assign(paths.size(), ClosedError());
    return out;
  }
  std::vector<Request> requests;
  requests.reserve(paths.size());
  for (const auto& p : paths) requests.push_back({MsgType::kDirectory, tx_id_, PathPayload(p)});
  auto replies = conn_->CallMany(requests);
  out.reserve(replies.size());
  for (size_t i = 0; i < replies.size(); ++i) {
    if (replies[i].ok())
      out.push_back(ToStrings(wire::SplitFields(*replies[i])));
    else if (replies[i].status().code() == E2BIG)
      out.push_back(DirectoryByParts(paths[i]));
    else
      out.push_back(replies[i].status());
  }
  return out;
}

Status ReadContext::End(bool commit) {
  if (!open()) return ClosedError();
  auto r = conn_->Call(MsgType::kTransactionEnd, tx_id_, PathPayload(commit ? "T" : "F"));
  conn_ = nullptr;
  tx_id_ = 0;
  return r.ok() ? Status::Ok() : r.status();
}

namespace {
Result<uint32_t> StartTransaction(Connection& conn) {
  TXEND_ASSIGN_OR_RETURN(std::string reply,
                         conn.Call(MsgType::kTransactionStart, 0, PathPayload("")));
  auto id = ParseInteger<uint32_t>(std::string_view(reply).substr(0, reply.find('\0')));
  if (!id.ok() || *id == 0) return Status::Error(EPROTO, "bad TRANSACTION_START reply");
  return id;
}
}  // namespace

Result<Snapshot> Snapshot::Begin(Connection& conn) {
  TXEND_ASSIGN_OR_RETURN(uint32_t id, StartTransaction(conn));
  return Snapshot(&conn, id);
}

Snapshot::~Snapshot() {
  if (open()) (void)End(false);
}

Result<Transaction> Transaction::Begin(Connection& conn) {
  TXEND_ASSIGN_OR_RETURN(uint32_t id, StartTransaction(conn));
  return Transaction(&conn, id);
}

Transaction::~Transaction() {
  if (open()) (void)End(false);
}

Status Transaction::Write(std::string_view path, std::string_view value) {
  if (!open()) return ClosedError();
  std::string payload = PathPayload(path);
  payload.append(value);
  auto r = conn_->Call(MsgType::kWrite, tx_id_, payload);
  return r.ok() ? Status::Ok() : r.status();
}

Status Transaction::Mkdir(std::string_view path) {
  if (!open()) return ClosedError();
  auto r = conn_->Call(MsgType::kMkdir, tx_id_, PathPayload(path));
  return r.ok() ? Status::Ok() : r.status();
}

namespace {
std::string PermsPayload(std::string_view path, const Perms& perms) {
  std::string payload = PathPayload(path);
  for (const auto& p : perms) {
    payload += FormatPerm(p);
    payload.push_back('\0');
  }
  return payload;
}
}  // namespace

Status Transaction::SetPerms(std::string_view path, const Perms& perms) {
  if (!open()) return ClosedError();
  auto r = conn_->Call(MsgType::kSetPerms, tx_id_, PermsPayload(path, perms));
  return r.ok() ? Status::Ok() : r.status();
}

Status Transaction::WriteMany(std::span<const NodeWrite> writes) {
  if (!open()) return ClosedError();
  std::vector<Request> requests;
  requests.reserve(writes.size() * 2);
  for (const auto& w : writes) {
    std::string payload = PathPayload(w.path);
    payload.append(w.value);
    requests.push_back({MsgType::kWrite, tx_id_, std::move(payload)});
    if (w.perms) requests.push_back({MsgType::kSetPerms, tx_id_, PermsPayload(w.path, *w.perms)});
  }
  return FirstError(conn_->CallMany(requests));
}

Status Transaction::RmMany(std::span<const std::string> paths, bool missing_ok) {
  if (!open()) return ClosedError();
  std::vector<Request> requests;
  requests.reserve(paths.size());
  for (const auto& p : paths) requests.push_back({MsgType::kRm, tx_id_, PathPayload(p)});
  auto replies = conn_->CallMany(requests);
  if (missing_ok)
    std::erase_if(replies, [](const Result<std::string>& r) {
      return !r.ok() && r.status().code() == ENOENT;
    });
  return FirstError(replies);
}

Status Transaction::Commit() { return End(true); }

void Transaction::Abort() {
  if (open()) (void)End(false);
}

}  // namespace txend::xs
