// JournalRecord: the unit xsd's persistence writes and replays. A frame (u32
// payload length, u32 CRC-32 of the payload) around a payload of entries:
// 'Q' <u64 sequence number> first (records of older versions have none),
// then 'S' <path> <value> <perms> (a node's whole state) or 'D' <path>
// (remove a subtree). Strings are u32 length + bytes; perms u32 count, then
// (u8 access, u32 domid) each.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "xsd/tree.h"

namespace txend::xsd {

// One decoded entry; its strings view the bytes it was parsed from.
struct JournalEntry {
  bool remove = false;
  std::string_view path;
  std::string_view value;
  wire::Perms perms;
};

// One intact record found in a journal or snapshot.
struct JournalRecord {
  std::optional<uint64_t> seq;  // absent in records older versions wrote
  std::vector<JournalEntry> entries;
  size_t end = 0;  // offset just past the record
};

// Builds the bytes of one framed record.
class JournalRecordWriter {
 public:
  explicit JournalRecordWriter(uint64_t seq);
  void Set(const std::string& path, const Node& node);
  void Remove(const std::string& path);
  // True while no node was set or removed.
  bool empty() const { return entries_ == 0; }
  std::string Framed() const;

 private:
  std::string payload_;
  size_t entries_ = 0;
};

// The intact record at `pos`, or nullopt: torn, a bad checksum, malformed, or
// naming a path no request could have stored.
std::optional<JournalRecord> ParseJournalRecord(std::string_view data, size_t pos);

// The offset of the first intact record after `from` that carries sequence
// number `seq` (or, when `legacy`, that has none), or npos. Used to step over
// bytes a failed write left behind.
size_t FindJournalRecord(std::string_view data, size_t from, uint64_t seq, bool legacy);

// Applies a record's entries to `tree`, in order.
void ApplyJournalRecord(const JournalRecord& record, Tree& tree);

}  // namespace txend::xsd
