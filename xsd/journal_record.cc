#include "xsd/journal_record.h"

#include <cstring>

#include <boost/crc.hpp>

#include "wire/wire.h"
#include "xsd/path.h"

namespace txend::xsd {
namespace {

constexpr size_t kFrame = 8;
constexpr uint32_t kMaxRecord = 256u << 20;
constexpr uint32_t kMaxPerms = 65536;

void PutU32(std::string& out, uint32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); }
void PutU64(std::string& out, uint64_t v) { out.append(reinterpret_cast<const char*>(&v), 8); }
void PutString(std::string& out, std::string_view s) {
  PutU32(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}

uint32_t Crc(std::string_view payload) {
  boost::crc_32_type crc;
  crc.process_bytes(payload.data(), payload.size());
  return crc.checksum();
}

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

// Decodes a record payload; false if malformed.
class PayloadReader {
 public:
  explicit PayloadReader(std::string_view p) : p_(p) {}

  bool Read(JournalRecord& record) {
    if (!p_.empty() && p_[0] == 'Q') {
      ++pos_;
      uint64_t seq = 0;
      if (!U64(seq)) return false;
      record.seq = seq;
    }
    while (pos_ < p_.size()) {
      JournalEntry e;
      char kind = p_[pos_++];
      if ((kind != 'S' && kind != 'D') || !String(e.path) || !IsStorePath(e.path)) return false;
      e.remove = kind == 'D';
      if (!e.remove && !Node(e)) return false;
      record.entries.push_back(std::move(e));
    }
    return true;
  }

 private:
  bool Node(JournalEntry& e) {
    uint32_t n = 0;
    if (!String(e.value) || !U32(n) || n == 0 || n > kMaxPerms) return false;
    e.perms.resize(n);
    for (auto& perm : e.perms) {
      if (pos_ >= p_.size()) return false;
      perm.access = static_cast<wire::Access>(p_[pos_++]);
      if (!IsAccess(perm.access) || !U32(perm.domid)) return false;
    }
    return true;
  }
  template <typename T>
  bool Fixed(T& v) {
    if (p_.size() - pos_ < sizeof v) return false;
    std::memcpy(&v, p_.data() + pos_, sizeof v);
    pos_ += sizeof v;
    return true;
  }
  bool U32(uint32_t& v) { return Fixed(v); }
  bool U64(uint64_t& v) { return Fixed(v); }
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

uint32_t U32At(std::string_view data, size_t pos) {
  uint32_t v;
  std::memcpy(&v, data.data() + pos, 4);
  return v;
}

// A cheap look at the frame at `pos` before its checksum is computed: could
// it be a record with sequence number `seq` (or, if `legacy`, one without)?
bool MightStartRecord(std::string_view data, size_t pos, uint64_t seq, bool legacy) {
  uint32_t len = U32At(data, pos);
  if (len == 0 || len > kMaxRecord || data.size() - pos - kFrame < len) return false;
  std::string_view payload = data.substr(pos + kFrame, len);
  if (payload[0] == 'Q') {
    uint64_t found;
    if (payload.size() < 9) return false;
    std::memcpy(&found, payload.data() + 1, 8);
    return found == seq;
  }
  // An older version's record: 'S' or 'D', then an absolute path.
  return legacy && (payload[0] == 'S' || payload[0] == 'D') && payload.size() > 5 &&
         U32At(payload, 1) <= wire::kAbsPathMax && payload[5] == '/';
}

}  // namespace

JournalRecordWriter::JournalRecordWriter(uint64_t seq) {
  payload_.push_back('Q');
  PutU64(payload_, seq);
}

void JournalRecordWriter::Set(const std::string& path, const Node& node) {
  payload_.push_back('S');
  PutString(payload_, path);
  PutString(payload_, node.value);
  PutU32(payload_, static_cast<uint32_t>(node.perms.size()));
  for (const auto& p : node.perms) {
    payload_.push_back(static_cast<char>(p.access));
    PutU32(payload_, p.domid);
  }
  ++entries_;
}

void JournalRecordWriter::Remove(const std::string& path) {
  payload_.push_back('D');
  PutString(payload_, path);
  ++entries_;
}

std::string JournalRecordWriter::Framed() const {
  std::string out;
  PutU32(out, static_cast<uint32_t>(payload_.size()));
  PutU32(out, Crc(payload_));
  return out + payload_;
}

std::optional<JournalRecord> ParseJournalRecord(std::string_view data, size_t pos) {
  if (pos > data.size() || data.size() - pos < kFrame) return std::nullopt;
  uint32_t len = U32At(data, pos);
  uint32_t crc = U32At(data, pos + 4);
  // No writer frames an empty payload; zeros (a crash's filler) would pass the checksum.
  if (len == 0 || len > kMaxRecord || data.size() - pos - kFrame < len) return std::nullopt;
  std::string_view payload = data.substr(pos + kFrame, len);
  if (Crc(payload) != crc) return std::nullopt;
  JournalRecord record;
  if (!PayloadReader(payload).Read(record)) return std::nullopt;
  record.end = pos + kFrame + len;
  return record;
}

size_t FindJournalRecord(std::string_view data, size_t from, uint64_t seq, bool legacy) {
  for (size_t pos = from; pos < data.size() && data.size() - pos > kFrame; ++pos) {
    if (!MightStartRecord(data, pos, seq, legacy)) continue;
    auto record = ParseJournalRecord(data, pos);
    if (record && (record->seq ? *record->seq == seq : legacy)) return pos;
  }
  return std::string_view::npos;
}

void ApplyJournalRecord(const JournalRecord& record, Tree& tree) {
  for (const auto& e : record.entries) {
    if (e.remove)
      tree.Remove(e.path, 1, nullptr);
    else
      tree.Restore(e.path, e.value, e.perms, 1);
  }
}

}  // namespace txend::xsd
