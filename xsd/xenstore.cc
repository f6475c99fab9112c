#include "xsd/xenstore.h"

#include "base/numbers.h"
#include "xsd/path.h"
#include "xsd/permissions.h"

namespace txend::xsd {
namespace {

using wire::MsgType;

constexpr uint32_t kDomidFirstReserved = 0x7FF0;
const std::string kOk("OK\0", 3);

std::string WithNul(std::string s) {
  s.push_back('\0');
  return s;
}

Status Inval(const std::string& why) { return Status::Error(EINVAL, why); }

// The decimal number in `text`, or EINVAL.
template <std::integral T>
Result<T> Number(std::string_view text) {
  auto v = ParseInteger<T>(text);
  if (!v.ok()) return Inval("bad number '" + std::string(text) + "'");
  return v;
}

Result<uint32_t> DomidArg(std::string_view text) {
  TXEND_ASSIGN_OR_RETURN(uint32_t domid, Number<uint32_t>(text));
  if (domid >= kDomidFirstReserved) return Inval("bad domain id " + std::string(text));
  return domid;
}

// Fields of a payload; EINVAL if fewer than `n`.
Result<std::vector<std::string_view>> Fields(const wire::Message& m, size_t n) {
  auto f = wire::SplitFields(m.payload);
  if (f.size() < n) return Inval("expected " + std::to_string(n) + " argument(s)");
  return f;
}

// The one argument of a request that takes exactly one string, sent as
// "arg\0": xenstored and oxenstored refuse it otherwise, so xsd does too.
Result<std::string_view> OneArg(const wire::Message& m) {
  std::string_view p = m.payload;
  if (p.empty() || p.find('\0') != p.size() - 1)
    return Inval("expected one NUL-terminated argument");
  return p.substr(0, p.size() - 1);
}

bool WriteClass(MsgType t) {
  return t == MsgType::kWrite || t == MsgType::kMkdir || t == MsgType::kRm ||
         t == MsgType::kSetPerms;
}

// Nodes every xsd has (what xen-init-dom0 and tools expect); added when missing.
void AddStandardNodes(Tree& tree) {
  for (const char* p : {"/local/domain", "/tool/xenstored"})
    tree.Mkdir(p, std::nullopt, 1, nullptr);
}

std::string Listing(const Node& node) {
  std::string out;
  node.children.ForEach([&](const std::string& name, const NodePtr&) {
    out.append(name);
    out.push_back('\0');
  });
  return out;
}

}  // namespace

Xenstore::Xenstore(Quota quota, std::unique_ptr<Journal> journal, std::optional<Tree> tree)
    : quota_(quota), journal_(std::move(journal)), tree_(tree ? std::move(*tree) : Tree()) {
  AddStandardNodes(tree_);
  // Ownership counts of a restored store.
  std::vector<Change> all;
  tree_.ForEach([&](const std::string& path, const Node& node) {
    if (path != "/") all.push_back({Change::kCreated, path, {}, node.perms});
  });
  domains_.Account(all);
}

ConnId Xenstore::Connect(uint32_t domid) {
  ConnId id = next_conn_++;
  sessions_[id].domid = domid;
  ++stats_.connections_opened;
  return id;
}

void Xenstore::DropSessionState(Session& s, ConnId conn) {
  DomainRecord& d = domains_.Get(s.domid);
  d.transactions -= std::min(d.transactions, s.transactions.size() + s.expired.size());
  stats_.transactions_aborted += s.transactions.size();
  for (auto& [id, open] : s.transactions) Release(s, conn, id, open);
  s.transactions.clear();
  s.expired.clear();
  size_t watches = watches_.CountFor(conn);
  d.watches -= std::min(d.watches, watches);
  watches_.RemoveAll(conn);
}

void Xenstore::Disconnect(ConnId conn) {
  auto it = sessions_.find(conn);
  if (it == sessions_.end()) return;
  DropSessionState(it->second, conn);
  sessions_.erase(it);
}

Requester Xenstore::WhoIs(const Session& s) const {
  Requester who{s.domid, s.domid == 0, std::nullopt};
  if (const DomainRecord* d = domains_.Find(s.domid)) who.target = d->target;
  return who;
}

Gauges Xenstore::gauges() const {
  Gauges g;
  g.nodes = tree_.node_count();
  g.connections = sessions_.size();
  g.watches = watches_.size();
  for (const auto& [id, s] : sessions_) g.open_transactions += s.transactions.size();
  g.domains_introduced = domains_.Introduced().size();
  g.persistence_degraded = degraded_ ? 1 : 0;
  g.compacting = compacting() ? 1 : 0;
  return g;
}

void Xenstore::Handle(ConnId conn, const wire::Message& m, Outbox& out) {
  auto it = sessions_.find(conn);
  if (it == sessions_.end()) return;
  ++stats_.requests_total;
  if (m.header.type < wire::kTypeCount) ++stats_.requests_by_type[m.header.type];
  if (WriteClass(m.type()) && m.header.tx_id == 0) ++stats_.implicit_transactions;

  std::vector<std::string> after_reply;
  Reply reply = DispatchCharged(it->second, conn, m, out, after_reply);
  if (reply.ok()) {
    out.messages.emplace_back(conn,
                              wire::Encode(m.type(), m.header.req_id, m.header.tx_id, *reply));
  } else {
    ++stats_.error_replies;
    out.messages.emplace_back(conn, wire::Encode(MsgType::kError, m.header.req_id, m.header.tx_id,
                                                 WithNul(ErrnoName(reply.status().code()))));
  }
  for (auto& bytes : after_reply) out.messages.emplace_back(conn, std::move(bytes));
}

Xenstore::Reply Xenstore::DispatchCharged(Session& s, ConnId conn, const wire::Message& m,
                                          Outbox& out, std::vector<std::string>& after_reply) {
  uint32_t id = m.header.tx_id;
  if (id == 0 || s.domid == 0 || m.type() == MsgType::kTransactionEnd || !s.transactions.count(id))
    return Dispatch(s, conn, m, out, after_reply);
  DomainRecord& d = domains_.Get(s.domid);
  if (d.transaction_bytes > quota_.transaction_bytes)
    return Status::Error(ENOSPC, "open transactions hold too much");
  Reply reply = Dispatch(s, conn, m, out, after_reply);
  if (auto it = s.transactions.find(id); it != s.transactions.end()) {
    OpenTransaction& open = it->second;
    d.transaction_bytes += open.tx.bytes() - open.charged;
    open.charged = open.tx.bytes();
  }
  return reply;
}

Xenstore::Reply Xenstore::Dispatch(Session& s, ConnId conn, const wire::Message& m, Outbox& out,
                                   std::vector<std::string>& after_reply) {
  bool privileged = s.domid == 0;
  switch (m.type()) {
    case MsgType::kRead:
      return DoRead(s, m);
    case MsgType::kGetPerms:
      return DoGetPerms(s, m);
    case MsgType::kDirectory:
      return DoDirectory(s, m);
    case MsgType::kDirectoryPart:
      return DoDirectoryPart(s, m);
    case MsgType::kWrite:
      return DoWrite(s, m, out);
    case MsgType::kMkdir:
      return DoMkdir(s, m, out);
    case MsgType::kRm:
      return DoRm(s, m, out);
    case MsgType::kSetPerms:
      return DoSetPerms(s, m, out);
    case MsgType::kWatch:
      return DoWatch(s, conn, m, after_reply);
    case MsgType::kUnwatch:
      return DoUnwatch(s, conn, m);
    case MsgType::kResetWatches:
      DropSessionState(s, conn);
      return kOk;
    case MsgType::kTransactionStart:
      return DoTransactionStart(s, conn, m);
    case MsgType::kTransactionEnd:
      return DoTransactionEnd(s, conn, m, out);
    case MsgType::kGetDomainPath: {
      TXEND_ASSIGN_OR_RETURN(std::string_view arg, OneArg(m));
      TXEND_ASSIGN_OR_RETURN(uint32_t domid, DomidArg(arg));
      return WithNul(DomainPath(domid));
    }
    case MsgType::kIsDomainIntroduced: {
      TXEND_ASSIGN_OR_RETURN(std::string_view arg, OneArg(m));
      TXEND_ASSIGN_OR_RETURN(uint32_t domid, DomidArg(arg));
      return WithNul(domains_.IsIntroduced(domid) ? "T" : "F");
    }
    case MsgType::kIntroduce:
    case MsgType::kRelease:
    case MsgType::kResume:
    case MsgType::kSetTarget:
    case MsgType::kControl:
      if (!privileged) return Status::Error(EACCES, "privileged operation");
      if (m.type() == MsgType::kIntroduce) return DoIntroduce(m, out);
      if (m.type() == MsgType::kRelease) return DoRelease(m, out);
      if (m.type() == MsgType::kResume) return DoResume(m);
      if (m.type() == MsgType::kSetTarget) return DoSetTarget(m);
      return DoControl(m);
    default:
      return Inval("unknown or reply-only message type");
  }
}

Result<std::string> Xenstore::PathArg(const Session& s, std::string_view raw,
                                      bool allow_special) const {
  size_t max = s.domid == 0 ? wire::kAbsPathMax : quota_.path_length;
  TXEND_ASSIGN_OR_RETURN(std::string path, Canonicalize(raw, s.domid, allow_special, max));
  if (path.size() > wire::kAbsPathMax) return Inval("path too long");
  return path;
}

Result<Transaction*> Xenstore::TransactionOf(Session& s, const wire::Message& m) {
  if (m.header.tx_id == 0) return static_cast<Transaction*>(nullptr);
  auto it = s.transactions.find(m.header.tx_id);
  if (it != s.transactions.end()) return &it->second.tx;
  if (s.expired.count(m.header.tx_id)) return Status::Error(EAGAIN, "transaction expired");
  return Status::Error(ENOENT, "no such transaction");
}

Result<const Node*> Xenstore::Readable(const Session& s, Transaction* tx,
                                       const std::string& path) const {
  const Node* node = View(tx).Find(path);
  if (tx) tx->ObserveNode(path, node);
  if (!node) return Status::Error(ENOENT, path);
  if (!CanRead(WhoIs(s), node->perms)) return Status::Error(EACCES, path);
  return node;
}

Xenstore::Reply Xenstore::DoRead(Session& s, const wire::Message& m) {
  TXEND_ASSIGN_OR_RETURN(std::string_view arg, OneArg(m));
  TXEND_ASSIGN_OR_RETURN(std::string path, PathArg(s, arg, false));
  TXEND_ASSIGN_OR_RETURN(Transaction * tx, TransactionOf(s, m));
  TXEND_ASSIGN_OR_RETURN(const Node* node, Readable(s, tx, path));
  return node->value;
}

Xenstore::Reply Xenstore::DoGetPerms(Session& s, const wire::Message& m) {
  TXEND_ASSIGN_OR_RETURN(std::string_view arg, OneArg(m));
  TXEND_ASSIGN_OR_RETURN(std::string path, PathArg(s, arg, false));
  TXEND_ASSIGN_OR_RETURN(Transaction * tx, TransactionOf(s, m));
  TXEND_ASSIGN_OR_RETURN(const Node* node, Readable(s, tx, path));
  std::string out;
  for (const auto& p : node->perms) out += WithNul(wire::FormatPerm(p));
  return out;
}

Xenstore::Reply Xenstore::DoDirectory(Session& s, const wire::Message& m) {
  TXEND_ASSIGN_OR_RETURN(std::string_view arg, OneArg(m));
  TXEND_ASSIGN_OR_RETURN(std::string path, PathArg(s, arg, false));
  TXEND_ASSIGN_OR_RETURN(Transaction * tx, TransactionOf(s, m));
  TXEND_ASSIGN_OR_RETURN(const Node* node, Readable(s, tx, path));
  if (tx) tx->ObserveChildren(path, node);
  std::string list = Listing(*node);
  if (list.size() > wire::kPayloadMax) return Status::Error(E2BIG, "directory too large");
  return list;
}

// Reply: "<generation>\0" then whole child names from byte `offset` of the
// full listing, as many as fit; an extra "\0" marks the end of the listing.
Xenstore::Reply Xenstore::DoDirectoryPart(Session& s, const wire::Message& m) {
  TXEND_ASSIGN_OR_RETURN(auto f, Fields(m, 2));
  TXEND_ASSIGN_OR_RETURN(std::string path, PathArg(s, f[0], false));
  TXEND_ASSIGN_OR_RETURN(size_t offset, Number<size_t>(f[1]));
  TXEND_ASSIGN_OR_RETURN(Transaction * tx, TransactionOf(s, m));
  TXEND_ASSIGN_OR_RETURN(const Node* node, Readable(s, tx, path));
  if (tx) tx->ObserveChildren(path, node);
  std::string list = Listing(*node);
  if (offset > list.size()) return Inval("offset beyond the listing");
  std::string out = WithNul(std::to_string(node->children_version));
  size_t pos = offset;
  while (pos < list.size()) {
    size_t end = list.find('\0', pos) + 1;
    if (out.size() + (end - pos) + 1 > wire::kPayloadMax) break;
    out.append(list, pos, end - pos);
    pos = end;
  }
  if (pos == list.size()) out.push_back('\0');
  return out;
}

Status Xenstore::CheckWritable(const Session& s, const Tree& view, const std::string& path) const {
  const Node* node = view.Find(path);
  if (!node) node = view.DeepestExisting(path).first;
  if (!CanWrite(WhoIs(s), node->perms)) return Status::Error(EACCES, path);
  return Status::Ok();
}

Status Xenstore::Mutate(Session& s, Transaction* tx, Op op, Outbox& out) {
  const Tree& view = View(tx);
  TXEND_RETURN_IF_ERROR(CheckWritable(s, view, op.path));
  bool privileged = s.domid == 0;
  if (!privileged) {
    op.creator = s.domid;
    if (op.kind == Op::kWrite || op.kind == Op::kMkdir) {
      size_t created = 0;
      for (std::string_view at = op.path; at != "/" && !view.Find(at); at = ParentPath(at))
        ++created;
      if (domains_.Get(s.domid).entries + created > quota_.entries)
        return Status::Error(ENOSPC, "node quota exceeded");
    }
    if (tx && tx->touched() >= quota_.transaction_nodes)
      return Status::Error(ENOSPC, "transaction touches too many nodes");
  }
  if (tx) {
    tx->Apply(std::move(op));
    return Status::Ok();
  }
  return Publish(std::span<const Op>(&op, 1), out);
}

Status Xenstore::Publish(std::span<const Op> ops, Outbox& out) {
  // With a journal, the commit is applied to the live tree only once its
  // record is written: on failure the tree goes back to this snapshot.
  std::optional<Tree> before;
  if (journal_) before = tree_;
  uint64_t stamp = ++stamp_;
  std::vector<Change> all;
  std::vector<std::pair<const Op*, wire::Perms>> fired;  // ops that fire watches, with the perms
  for (const Op& op : ops) {
    size_t before_op = all.size();
    ApplyOp(tree_, op, stamp, &all);
    bool changed = all.size() > before_op;
    if (op.kind == Op::kRm) {
      if (!changed) continue;  // RM of a missing node: no event
      fired.emplace_back(&op, all.back().old_perms);
    } else {
      if (op.kind == Op::kMkdir && !changed) continue;  // already existed
      fired.emplace_back(&op, tree_.Find(op.path)->perms);
    }
  }
  if (journal_) {
    if (Status st = journal_->Append(all, tree_); !st.ok()) {
      tree_ = std::move(*before);
      return RefuseCommit(st);
    }
    ++stats_.journal_records;
    PersistenceRecovered();
  }
  domains_.Account(all);
  for (const auto& [op, perms] : fired) FireWatches(*op, perms, out);
  return Status::Ok();
}

void Xenstore::FireWatches(const Op& op, const wire::Perms& perms, Outbox& out) {
  // One pointer captured: the callback fits in std::function's own storage, so a write
  // that fires nothing allocates nothing here.
  struct Firing {
    Xenstore& store;
    const wire::Perms& perms;
    Outbox& out;
  } firing{*this, perms, out};
  watches_.Match(
      op.path, op.kind == Op::kRm,
      [f = &firing](const WatchEntry& w, const std::string& event_path) {
        auto it = f->store.sessions_.find(w.conn);
        if (it == f->store.sessions_.end() || !CanRead(f->store.WhoIs(it->second), f->perms))
          return;
        ++f->store.stats_.watch_events;
        f->out.messages.emplace_back(w.conn, wire::Encode(MsgType::kWatchEvent, 0, 0,
                                                          wire::JoinFields({event_path, w.token})));
      });
}

// The journal could not take a commit: the client gets ENOSPC (the disk is
// full) or EIO (anything else), and the daemon says it is degraded.
Status Xenstore::RefuseCommit(const Status& why) {
  ++stats_.commits_refused;
  if (!degraded_ && log_)
    log_("persistence degraded: " + why.ToString() +
         "; commits are refused (ENOSPC/EIO) until the journal can be written again");
  degraded_ = true;
  int code = why.code() == ENOSPC || why.code() == EDQUOT || why.code() == EFBIG ? ENOSPC : EIO;
  return Status::Error(code, "cannot persist the commit: " + why.message());
}

void Xenstore::PersistenceRecovered() {
  if (!degraded_) return;
  degraded_ = false;
  if (log_) log_("persistence recovered: commits are durable again");
}

Xenstore::Reply Xenstore::DoWrite(Session& s, const wire::Message& m, Outbox& out) {
  size_t nul = m.payload.find('\0');
  if (nul == std::string::npos) return Inval("WRITE needs a path and a value");
  TXEND_ASSIGN_OR_RETURN(std::string path,
                         PathArg(s, std::string_view(m.payload).substr(0, nul), false));
  std::string value = m.payload.substr(nul + 1);
  if (s.domid != 0 && value.size() > quota_.node_size)
    return Status::Error(ENOSPC, "node too large");
  TXEND_ASSIGN_OR_RETURN(Transaction * tx, TransactionOf(s, m));
  TXEND_RETURN_IF_ERROR(
      Mutate(s, tx, Op{Op::kWrite, std::move(path), std::move(value), {}, {}}, out));
  return kOk;
}

Xenstore::Reply Xenstore::DoMkdir(Session& s, const wire::Message& m, Outbox& out) {
  TXEND_ASSIGN_OR_RETURN(std::string_view arg, OneArg(m));
  TXEND_ASSIGN_OR_RETURN(std::string path, PathArg(s, arg, false));
  TXEND_ASSIGN_OR_RETURN(Transaction * tx, TransactionOf(s, m));
  if (const Node* existing = View(tx).Find(path)) {  // nothing to do, if it is ours to write
    if (tx) tx->ObserveNode(path, existing);
    TXEND_RETURN_IF_ERROR(CheckWritable(s, View(tx), path));
    return kOk;
  }
  TXEND_RETURN_IF_ERROR(Mutate(s, tx, Op{Op::kMkdir, std::move(path), {}, {}, {}}, out));
  return kOk;
}

Xenstore::Reply Xenstore::DoRm(Session& s, const wire::Message& m, Outbox& out) {
  TXEND_ASSIGN_OR_RETURN(std::string_view arg, OneArg(m));
  TXEND_ASSIGN_OR_RETURN(std::string path, PathArg(s, arg, false));
  if (path == "/") return Inval("cannot remove /");
  TXEND_ASSIGN_OR_RETURN(Transaction * tx, TransactionOf(s, m));
  const Tree& view = View(tx);
  if (!view.Find(path)) {
    if (tx) tx->ObserveNode(path, nullptr);
    if (!view.Find(ParentPath(path))) return Status::Error(ENOENT, path);
    return kOk;
  }
  TXEND_RETURN_IF_ERROR(Mutate(s, tx, Op{Op::kRm, std::move(path), {}, {}, {}}, out));
  return kOk;
}

Xenstore::Reply Xenstore::DoSetPerms(Session& s, const wire::Message& m, Outbox& out) {
  TXEND_ASSIGN_OR_RETURN(auto f, Fields(m, 2));
  TXEND_ASSIGN_OR_RETURN(std::string path, PathArg(s, f[0], false));
  wire::Perms perms;
  for (size_t i = 1; i < f.size(); ++i) {
    TXEND_ASSIGN_OR_RETURN(wire::Perm p, wire::ParsePerm(f[i]));
    perms.push_back(p);
  }
  bool privileged = s.domid == 0;
  if (!privileged && perms.size() > quota_.perms + 1)
    return Status::Error(ENOSPC, "too many permissions");
  TXEND_ASSIGN_OR_RETURN(Transaction * tx, TransactionOf(s, m));
  const Node* node = View(tx).Find(path);
  if (tx) tx->ObserveNode(path, node);
  if (!node) return Status::Error(ENOENT, path);
  if (!privileged && perms[0].domid != node->perms[0].domid &&
      WhoIs(s).target != node->perms[0].domid)
    return Status::Error(EPERM, "only dom0 may change a node's owner");
  TXEND_RETURN_IF_ERROR(
      Mutate(s, tx, Op{Op::kSetPerms, std::move(path), {}, std::move(perms), {}}, out));
  return kOk;
}

Xenstore::Reply Xenstore::DoWatch(Session& s, ConnId conn, const wire::Message& m,
                                  std::vector<std::string>& after_reply) {
  TXEND_ASSIGN_OR_RETURN(auto f, Fields(m, 2));
  TXEND_ASSIGN_OR_RETURN(std::string path, PathArg(s, f[0], true));
  DomainRecord& d = domains_.Get(s.domid);
  if (s.domid != 0 && d.watches >= quota_.watches)
    return Status::Error(E2BIG, "watch quota exceeded");
  bool relative = f[0][0] != '/' && f[0][0] != '@';
  std::string prefix = relative ? DomainPath(s.domid) + "/" : "";
  TXEND_RETURN_IF_ERROR(watches_.Add(conn, path, std::string(f[1]), std::move(prefix)));
  ++d.watches;
  ++stats_.watch_events;
  after_reply.push_back(wire::Encode(MsgType::kWatchEvent, 0, 0, wire::JoinFields({f[0], f[1]})));
  return kOk;
}

Xenstore::Reply Xenstore::DoUnwatch(Session& s, ConnId conn, const wire::Message& m) {
  TXEND_ASSIGN_OR_RETURN(auto f, Fields(m, 2));
  TXEND_ASSIGN_OR_RETURN(std::string path, PathArg(s, f[0], true));
  TXEND_RETURN_IF_ERROR(watches_.Remove(conn, path, std::string(f[1])));
  DomainRecord& d = domains_.Get(s.domid);
  if (d.watches) --d.watches;
  return kOk;
}

Xenstore::Reply Xenstore::DoTransactionStart(Session& s, ConnId conn, const wire::Message& m) {
  if (m.header.tx_id != 0) return Status::Error(EBUSY, "TRANSACTION_START inside a transaction");
  DomainRecord& d = domains_.Get(s.domid);
  if (s.domid != 0 && d.transactions >= quota_.transactions)
    return Status::Error(ENOSPC, "too many open transactions");
  uint32_t id = next_tx_id_++;
  while (id == 0 || s.transactions.count(id) || s.expired.count(id)) id = next_tx_id_++;
  OpenTransaction& open =
      s.transactions.emplace(id, OpenTransaction{Transaction(id, tree_), {}, 0}).first->second;
  if (s.domid != 0 && quota_.transaction_seconds > 0) {
    open.deadline = clock_() + std::chrono::seconds(quota_.transaction_seconds);
    deadlines_.Add({conn, id}, *open.deadline);
  }
  ++d.transactions;
  ++stats_.transactions_started;
  return WithNul(std::to_string(id));
}

void Xenstore::Release(Session& s, ConnId conn, uint32_t id, OpenTransaction& open) {
  if (open.deadline) deadlines_.Remove({conn, id}, *open.deadline);
  DomainRecord& d = domains_.Get(s.domid);
  d.transaction_bytes -= std::min(d.transaction_bytes, open.charged);
  open.deadline.reset();
  open.charged = 0;
}

Xenstore::Reply Xenstore::DoTransactionEnd(Session& s, ConnId conn, const wire::Message& m,
                                           Outbox& out) {
  auto f = wire::SplitFields(m.payload);
  bool known = s.transactions.count(m.header.tx_id) || s.expired.count(m.header.tx_id);
  if (!known) return Status::Error(ENOENT, "no such transaction");
  if (f.empty() || (f[0] != "T" && f[0] != "F")) return Inval("TRANSACTION_END takes T or F");
  DomainRecord& d = domains_.Get(s.domid);
  if (d.transactions) --d.transactions;
  if (s.expired.erase(m.header.tx_id)) {
    if (f[0] == "F") return kOk;
    return Status::Error(EAGAIN, "transaction expired");
  }
  auto it = s.transactions.find(m.header.tx_id);
  Release(s, conn, it->first, it->second);
  Transaction tx = std::move(it->second.tx);
  s.transactions.erase(it);
  if (f[0] == "F") {
    ++stats_.transactions_aborted;
    return kOk;
  }
  if (!tx.read_only()) {
    if (!tx.StillValid(tree_)) {
      ++stats_.transactions_conflicted;
      return Status::Error(EAGAIN, "transaction conflicted");
    }
    TXEND_RETURN_IF_ERROR(Publish(std::move(tx).Finish(), out));
  }
  ++stats_.transactions_committed;
  return kOk;
}

void Xenstore::ExpireTransactions() {
  for (auto [conn, id] : deadlines_.Due(clock_())) {
    auto session = sessions_.find(conn);
    if (session == sessions_.end()) continue;
    Session& s = session->second;
    auto it = s.transactions.find(id);
    if (it == s.transactions.end()) continue;
    it->second.deadline.reset();  // Due() already removed it
    Release(s, conn, id, it->second);
    s.transactions.erase(it);
    s.expired.insert(id);
    ++stats_.transactions_expired;
  }
}

void Xenstore::FireSpecial(const std::string& name, Outbox& out) {
  watches_.Match(name, false, [&](const WatchEntry& w, const std::string& event_path) {
    auto it = sessions_.find(w.conn);
    if (it == sessions_.end() || it->second.domid != 0) return;  // special events go to dom0 only
    ++stats_.watch_events;
    out.messages.emplace_back(
        w.conn, wire::Encode(MsgType::kWatchEvent, 0, 0, wire::JoinFields({event_path, w.token})));
  });
}

Xenstore::Reply Xenstore::DoIntroduce(const wire::Message& m, Outbox& out) {
  TXEND_ASSIGN_OR_RETURN(auto f, Fields(m, 3));
  TXEND_ASSIGN_OR_RETURN(uint32_t domid, DomidArg(f[0]));
  if (domid == 0) return Inval("cannot introduce domain 0");
  TXEND_ASSIGN_OR_RETURN(int64_t mfn, Number<int64_t>(f[1]));  // signed decimal, per the spec
  TXEND_ASSIGN_OR_RETURN(uint32_t port, Number<uint32_t>(f[2]));
  if (open_domain_) TXEND_RETURN_IF_ERROR(open_domain_(domid));
  domains_.Introduce(domid, static_cast<uint64_t>(mfn), port);
  out.introduced.push_back({domid, static_cast<uint64_t>(mfn), port});
  FireSpecial("@introduceDomain", out);
  return kOk;
}

Xenstore::Reply Xenstore::DoRelease(const wire::Message& m, Outbox& out) {
  TXEND_ASSIGN_OR_RETURN(std::string_view arg, OneArg(m));
  TXEND_ASSIGN_OR_RETURN(uint32_t domid, DomidArg(arg));
  if (domid == 0 || !domains_.IsIntroduced(domid))
    return Status::Error(ENOENT, "domain not introduced");
  DomainDied(domid, out);
  return kOk;
}

void Xenstore::DomainDied(uint32_t domid, Outbox& out) {
  if (domid == 0 || !domains_.IsIntroduced(domid)) return;
  domains_.Release(domid);
  out.released.push_back(domid);
  FireSpecial("@releaseDomain", out);
}

std::vector<uint32_t> Xenstore::IntroducedDomains() const {
  std::vector<uint32_t> ids = domains_.Introduced();
  std::erase(ids, 0u);
  return ids;
}

void Xenstore::DomainGone(uint32_t domid, Outbox& out) {
  DomainRecord& d = domains_.Get(domid);
  if (!d.introduced || d.release_fired) return;
  d.release_fired = true;
  FireSpecial("@releaseDomain", out);
}

void Xenstore::DomainConnected(uint32_t domid) {
  if (domains_.IsIntroduced(domid)) domains_.Get(domid).release_fired = false;
}

Xenstore::Reply Xenstore::DoResume(const wire::Message& m) {
  TXEND_ASSIGN_OR_RETURN(std::string_view arg, OneArg(m));
  TXEND_ASSIGN_OR_RETURN(uint32_t domid, DomidArg(arg));
  if (!domains_.IsIntroduced(domid)) return Status::Error(ENOENT, "domain not introduced");
  domains_.Get(domid).release_fired = false;
  return kOk;
}

Xenstore::Reply Xenstore::DoSetTarget(const wire::Message& m) {
  TXEND_ASSIGN_OR_RETURN(auto f, Fields(m, 2));
  TXEND_ASSIGN_OR_RETURN(uint32_t domid, DomidArg(f[0]));
  TXEND_ASSIGN_OR_RETURN(uint32_t target, DomidArg(f[1]));
  if (!domains_.IsIntroduced(domid) || !domains_.IsIntroduced(target))
    return Status::Error(ENOENT, "domain not introduced");
  domains_.Get(domid).target = target;
  return kOk;
}

Status Xenstore::Sync() {
  if (!journal_) return Status::Ok();
  Status st = journal_->Sync();
  if (!st.ok()) {
    // What the failed fdatasync covered may be lost: write the whole store
    // into a fresh snapshot instead. Only if that fails too is the round lost.
    if (log_) log_(st.ToString() + "; rewriting the whole store into a new snapshot");
    st = journal_->Compact(tree_);
    if (!st.ok()) {
      degraded_ = true;
      RefreshDiskStats();
      return st;
    }
  } else {
    // Compaction runs on a thread from an O(1) copy of the tree; the loop
    // only starts it and books its outcome.
    std::optional<Status> done = journal_->FinishCompaction();
    if (done && !done->ok() && log_)
      log_("cannot compact the journal (retried after 1 MiB more): " + done->ToString());
    if (journal_->WantsCompaction()) {
      if (Status c = journal_->StartCompaction(tree_); !c.ok() && log_)
        log_("cannot compact the journal (retried after 1 MiB more): " + c.ToString());
    }
  }
  RefreshDiskStats();
  return Status::Ok();
}

bool Xenstore::unsynced() const { return journal_ && journal_->pending(); }

bool Xenstore::compacting() const { return journal_ && journal_->compacting(); }

void Xenstore::RefreshDiskStats() {
  if (!journal_) return;
  stats_.disk_bytes_written = journal_->bytes_written();
  stats_.disk_syncs = journal_->syncs();
  stats_.compactions = journal_->compactions();
  stats_.journal_write_errors = journal_->write_errors();
}

}  // namespace txend::xsd
