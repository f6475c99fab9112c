#include "xsd/journal.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <optional>
#include <sys/stat.h>

#include <boost/crc.hpp>

#include "wire/wire.h"
#include "xsd/path.h"

namespace txend::xsd {
namespace {

// Record framing: u32 payload length, u32 CRC-32 of the payload, payload.
// Payload: entries. 'S' <path> <value> <nperms> (<access u8> <domid u32>)* sets a
// node's whole state; 'D' <path> removes a subtree. Strings are u32 length + bytes.
constexpr size_t kFrame = 8;
constexpr uint32_t kMaxRecord = 256u << 20;
constexpr uint64_t kMinCompactBytes = 4u << 20;

void PutU32(std::string& out, uint32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); }
void PutString(std::string& out, std::string_view s) {
  PutU32(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}

void PutNode(std::string& out, const std::string& path, const Node& node) {
  out.push_back('S');
  PutString(out, path);
  PutString(out, node.value);
  PutU32(out, static_cast<uint32_t>(node.perms.size()));
  for (const auto& p : node.perms) {
    out.push_back(static_cast<char>(p.access));
    PutU32(out, p.domid);
  }
}

uint32_t Crc(std::string_view payload) {
  boost::crc_32_type crc;
  crc.process_bytes(payload.data(), payload.size());
  return crc.checksum();
}

std::string Frame(const std::string& payload) {
  std::string out;
  PutU32(out, static_cast<uint32_t>(payload.size()));
  PutU32(out, Crc(payload));
  return out + payload;
}

// One decoded payload entry: set a node's state, or remove a subtree.
struct Entry {
  bool remove = false;
  std::string_view path;
  std::string_view value;
  wire::Perms perms;
};

// Only what the protocol can store: a canonical absolute path ("//", a
// trailing '/' or a bad character would name a node no one can address).
bool IsStorePath(std::string_view path) {
  auto canonical = Canonicalize(path, 0, false, wire::kAbsPathMax);
  return !path.empty() && path[0] == '/' && canonical.ok() && *canonical == path;
}

bool IsAccess(wire::Access a) {
  return a == wire::Access::kNone || a == wire::Access::kRead || a == wire::Access::kWrite ||
         a == wire::Access::kBoth;
}

// Decodes a record payload; nullopt if malformed.
class PayloadReader {
 public:
  explicit PayloadReader(std::string_view p) : p_(p) {}
  std::optional<std::vector<Entry>> Entries() {
    std::vector<Entry> entries;
    while (pos_ < p_.size()) {
      Entry e;
      char kind = p_[pos_++];
      if ((kind != 'S' && kind != 'D') || !String(e.path) || !IsStorePath(e.path))
        return std::nullopt;
      e.remove = kind == 'D';
      if (!e.remove) {
        uint32_t n = 0;
        if (!String(e.value) || !U32(n) || n == 0 || n > 65536) return std::nullopt;
        e.perms.resize(n);
        for (auto& perm : e.perms) {
          if (pos_ >= p_.size()) return std::nullopt;
          perm.access = static_cast<wire::Access>(p_[pos_++]);
          if (!IsAccess(perm.access) || !U32(perm.domid)) return std::nullopt;
        }
      }
      entries.push_back(std::move(e));
    }
    return entries;
  }

 private:
  bool U32(uint32_t& v) {
    if (p_.size() - pos_ < 4) return false;
    std::memcpy(&v, p_.data() + pos_, 4);
    pos_ += 4;
    return true;
  }
  bool String(std::string_view& s) {
    uint32_t n = 0;
    if (!U32(n) || p_.size() - pos_ < n) return false;
    s = p_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  std::string_view p_;
  size_t pos_ = 0;
};

Result<std::string> ReadFile(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return std::string();
    return Status::Error(errno, "cannot read " + path + ": " + strerror(errno));
  }
  std::string data;
  char buf[65536];
  ssize_t n;
  while ((n = read(fd.get(), buf, sizeof buf)) > 0) data.append(buf, static_cast<size_t>(n));
  return data;
}

// Applies whole, intact records from `data`; returns the length of that
// prefix. Reading stops at the first truncated or corrupt record.
size_t ApplyRecords(std::string_view data, Tree& tree, uint64_t* applied) {
  size_t pos = 0;
  while (data.size() - pos >= kFrame) {
    uint32_t len, crc;
    std::memcpy(&len, data.data() + pos, 4);
    std::memcpy(&crc, data.data() + pos + 4, 4);
    if (len > kMaxRecord || data.size() - pos - kFrame < len) break;
    std::string_view payload = data.substr(pos + kFrame, len);
    if (Crc(payload) != crc) break;
    auto entries = PayloadReader(payload).Entries();  // decoded whole before any is applied
    if (!entries) break;
    for (const auto& e : *entries) {
      if (e.remove)
        tree.Remove(e.path, 1, nullptr);
      else
        tree.Restore(e.path, e.value, e.perms, 1);
    }
    pos += kFrame + len;
    ++*applied;
  }
  return pos;
}

Status SyncDir(const std::string& dir) {
  UniqueFd fd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return Status::Error(errno, "cannot open " + dir);
  if (fsync(fd.get()) != 0) return Status::Error(errno, "fsync " + dir);
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<Journal>> Journal::Open(const std::string& dir, Tree& tree) {
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return Status::Error(errno, "cannot create " + dir + ": " + strerror(errno));
  TXEND_ASSIGN_OR_RETURN(std::string snapshot, ReadFile(dir + "/snapshot"));
  uint64_t ignored = 0;
  if (ApplyRecords(snapshot, tree, &ignored) != snapshot.size())
    return Status::Error(EIO, dir + "/snapshot is corrupt");
  TXEND_ASSIGN_OR_RETURN(std::string journal, ReadFile(dir + "/journal"));
  uint64_t replayed = 0;
  size_t good = ApplyRecords(journal, tree, &replayed);

  std::string path = dir + "/journal";
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) return Status::Error(errno, "cannot open " + path + ": " + strerror(errno));
  if (good != journal.size() && ftruncate(fd.get(), static_cast<off_t>(good)) != 0)
    return Status::Error(errno, "cannot truncate torn record in " + path);
  lseek(fd.get(), static_cast<off_t>(good), SEEK_SET);
  std::unique_ptr<Journal> j(new Journal(dir, std::move(fd)));
  j->journal_size_ = good;
  j->snapshot_size_ = snapshot.size();
  return j;
}

Journal::~Journal() { (void)Sync(); }

Status Journal::WriteAll(int fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::Error(errno, std::string("journal write: ") + strerror(errno));
    done += static_cast<size_t>(n);
  }
  bytes_written_ += bytes.size();
  return Status::Ok();
}

Status Journal::WriteDurably(const std::string& path, const std::string& bytes) {
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd) return Status::Error(errno, "cannot create " + path);
  TXEND_RETURN_IF_ERROR(WriteAll(fd.get(), bytes));
  if (fsync(fd.get()) != 0) return Status::Error(errno, "fsync " + path);
  return Status::Ok();
}

Status Journal::Append(const std::vector<Change>& changes, const Tree& tree) {
  std::string payload;
  for (const auto& c : changes) {
    if (c.kind == Change::kRemovedBelow) continue;  // covered by its kRemoved
    if (c.kind == Change::kRemoved) {
      payload.push_back('D');
      PutString(payload, c.path);
    } else if (const Node* node = tree.Find(c.path)) {
      PutNode(payload, c.path, *node);
    }
  }
  if (payload.empty()) return Status::Ok();
  std::string record = Frame(payload);
  TXEND_RETURN_IF_ERROR(WriteAll(fd_.get(), record));
  journal_size_ += record.size();
  ++records_;
  dirty_ = true;
  return Status::Ok();
}

Status Journal::Sync() {
  if (!dirty_) return Status::Ok();
  if (fdatasync(fd_.get()) != 0)
    return Status::Error(errno, std::string("journal fdatasync: ") + strerror(errno));
  dirty_ = false;
  ++syncs_;
  return Status::Ok();
}

bool Journal::WantsCompaction() const {
  return journal_size_ > kMinCompactBytes && journal_size_ > 2 * snapshot_size_;
}

Status Journal::Compact(const Tree& tree) {
  std::string payload;
  tree.ForEach([&](const std::string& path, const Node& node) { PutNode(payload, path, node); });
  std::string record = Frame(payload);
  std::string tmp = dir_ + "/snapshot.tmp";
  TXEND_RETURN_IF_ERROR(WriteDurably(tmp, record));
  if (rename(tmp.c_str(), (dir_ + "/snapshot").c_str()) != 0)
    return Status::Error(errno, "rename snapshot");
  TXEND_RETURN_IF_ERROR(SyncDir(dir_));
  // The journal's records are all in the snapshot now; replaying them again
  // would be harmless (they set absolute state), so a crash here loses nothing.
  if (ftruncate(fd_.get(), 0) != 0 || lseek(fd_.get(), 0, SEEK_SET) != 0 ||
      fdatasync(fd_.get()) != 0)
    return Status::Error(errno, "cannot empty journal");
  journal_size_ = 0;
  snapshot_size_ = record.size();
  dirty_ = false;
  ++compactions_;
  return Status::Ok();
}

}  // namespace txend::xsd
