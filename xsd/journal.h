// Journal: optional persistence of the store in a directory. Each commit
// appends one numbered, checksummed record (journal_record.h) holding the
// final state of the nodes it changed; Sync() makes everything appended
// durable with one fdatasync for many commits. A write that fails (ENOSPC,
// EIO) leaves nothing behind that replay would take for a commit: its bytes
// are cut off again, and if even that fails the next record reuses its
// number, so replay steps over them. When the journal has grown,
// StartCompaction() moves appends to a fresh DIR/journal.next and writes the
// snapshot on a thread from an O(1) copy of the tree; the thread then renames
// journal.next over the journal. Start-up replays snapshot, journal and
// journal.next in sequence, so a crash at any point loses nothing.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "xsd/tree.h"

namespace txend::xsd {

// What start-up found in the journal.
struct JournalReplay {
  uint64_t records = 0;        // records applied
  uint64_t skipped_bytes = 0;  // bytes of failed writes stepped over between records
  uint64_t dropped_bytes = 0;  // bytes cut off the end: a torn last record, or records
                               // after a missing one (never acknowledged)
  std::string cut_to;          // where those bytes were kept (DIR/journal.cut-<seq>), if they were
};

class Journal {
 public:
  // Opens (creating) `dir` and loads its snapshot and journal into `tree`.
  static Result<std::unique_ptr<Journal>> Open(const std::string& dir, Tree& tree);
  ~Journal();

  // Appends the final state (from `tree`) of every node in `changes`. An
  // error (with the write's errno) means the commit must not be acknowledged.
  Status Append(const std::vector<Change>& changes, const Tree& tree);
  // Makes every appended record durable. No-op when nothing is pending.
  Status Sync();
  // True when a record was appended since the last Sync().
  bool pending() const { return dirty_; }

  // True when the journal outgrew the snapshot enough to be worth compacting,
  // or start-up stepped over a failed write (or found a journal.next), and no
  // compaction runs; a failed compaction is retried only after the journal
  // grew by another 1 MiB.
  bool WantsCompaction() const;
  // Starts a background compaction of `tree` (copied: O(1)). Call it when
  // nothing is pending (right after Sync()); later appends go to journal.next.
  Status StartCompaction(const Tree& tree);
  // The outcome of a background compaction once it has ended (nullopt while
  // it runs, or when none was started since the last call). Does not block.
  std::optional<Status> FinishCompaction();
  bool compacting() const { return compactor_.joinable(); }
  // Writes `tree` as the new snapshot (fsynced) and starts an empty journal,
  // after waiting for a background compaction. Once it returns ok,
  // everything in `tree` is durable.
  Status Compact(const Tree& tree);

  const JournalReplay& replay() const { return replay_; }
  uint64_t bytes_written() const { return bytes_written_; }
  uint64_t records() const { return records_; }
  uint64_t syncs() const { return syncs_; }
  uint64_t compactions() const { return compactions_; }
  uint64_t write_errors() const { return write_errors_; }

 private:
  Journal(std::string dir, UniqueFd fd) : dir_(std::move(dir)), fd_(std::move(fd)) {}
  // What a compaction (on the loop or on its thread) reports.
  struct Compacted {
    Status status;
    uint64_t snapshot_bytes = 0;
    uint64_t bytes_written = 0;
  };
  // Writes `tree` as the snapshot numbered `seq`, then renames journal.next
  // over the journal when `merge_next`. Touches no member: it runs on a thread.
  static Compacted WriteSnapshot(const std::string& dir, const Tree& tree, uint64_t seq,
                                 bool merge_next);
  // Writes `bytes` at the current offset; `*written` counts what reached the file.
  Status WriteAll(int fd, const std::string& bytes, size_t* written);
  // Cuts the bytes of a failed append off the end again, if it can.
  void CutOff(size_t written);
  void StartEmptyJournal();
  // Books a compaction's outcome; on success everything up to its snapshot is in it.
  Status Account(Compacted done);

  std::string dir_;
  UniqueFd fd_;  // the journal file, positioned at its end
  bool dirty_ = false;
  uint64_t next_seq_ = 1;  // the number the next record gets
  uint64_t journal_size_ = 0;
  uint64_t snapshot_size_ = 0;
  uint64_t compact_after_size_ = 0;  // after a failed compaction: retry past this size
  bool compaction_due_ = false;      // start-up stepped over bytes of a failed write
  bool next_file_ = false;           // appends go to journal.next (not yet renamed over journal)
  bool dir_unsynced_ = false;        // journal.next's directory entry is not yet durable
  std::thread compactor_;            // the background compaction, if one was started
  Tree compacting_tree_;             // what it writes; only it reads this until joined
  std::atomic<bool> compacted_{false};
  Compacted compactor_result_;  // written by compactor_ before it sets compacted_
  JournalReplay replay_;
  uint64_t bytes_written_ = 0;
  uint64_t records_ = 0;
  uint64_t syncs_ = 0;
  uint64_t compactions_ = 0;
  uint64_t write_errors_ = 0;
};

}  // namespace txend::xsd
