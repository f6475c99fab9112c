// Journal: optional persistence of the store in a directory. Each commit
// appends one checksummed record holding the final state of the nodes it
// changed (so bytes written are proportional to the change); Sync() makes
// everything appended durable with one fdatasync for many commits. A
// snapshot file plus the journal rebuild the store at start-up; a torn last
// record is detected by its checksum and discarded. Compact() rewrites the
// snapshot and empties the journal when it has grown.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "xsd/tree.h"

namespace txend::xsd {

class Journal {
 public:
  // Opens (creating) `dir` and loads its snapshot and journal into `tree`.
  static Result<std::unique_ptr<Journal>> Open(const std::string& dir, Tree& tree);
  ~Journal();

  // Appends the final state (from `tree`) of every node in `changes`.
  Status Append(const std::vector<Change>& changes, const Tree& tree);
  // Makes every appended record durable. No-op when nothing is pending.
  Status Sync();

  // True once the journal outgrew the snapshot enough to be worth compacting.
  bool WantsCompaction() const;
  // Writes `tree` as the new snapshot and starts an empty journal.
  Status Compact(const Tree& tree);

  uint64_t bytes_written() const { return bytes_written_; }
  uint64_t records() const { return records_; }
  uint64_t syncs() const { return syncs_; }
  uint64_t compactions() const { return compactions_; }

 private:
  Journal(std::string dir, UniqueFd fd) : dir_(std::move(dir)), fd_(std::move(fd)) {}
  Status WriteAll(int fd, const std::string& bytes);
  // Writes `bytes` as the whole of a new file at `path` and fsyncs it.
  Status WriteDurably(const std::string& path, const std::string& bytes);

  std::string dir_;
  UniqueFd fd_;  // the journal file, open for appending
  bool dirty_ = false;
  uint64_t journal_size_ = 0;
  uint64_t snapshot_size_ = 0;
  uint64_t bytes_written_ = 0;
  uint64_t records_ = 0;
  uint64_t syncs_ = 0;
  uint64_t compactions_ = 0;
};

}  // namespace txend::xsd
